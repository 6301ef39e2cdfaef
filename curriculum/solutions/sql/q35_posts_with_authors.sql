-- Q35: every post with its author. An inner JOIN keeps exactly the posts that have an
-- author (all of them: user_id is NOT NULL REFERENCES users) and never lists a user
-- without posts; ORDER BY makes the result deterministic.
SELECT p.id, p.title, u.name, u.email
FROM posts AS p
JOIN users AS u ON u.id = p.user_id
ORDER BY p.id;
