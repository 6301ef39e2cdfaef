-- wrong (Q36): an inner join drops the posts that have no comments.
SELECT p.id, p.title, count(c.id) FROM posts p JOIN comments c ON c.post_id = p.id GROUP BY p.id, p.title ORDER BY p.id;
