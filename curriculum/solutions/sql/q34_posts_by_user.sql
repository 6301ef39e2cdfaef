-- Q34: every post by one user, newest first. :user_id is bound by the caller, never pasted
-- into the text; the id breaks ties between posts written at the same moment.
SELECT id, title, created_at
FROM posts
WHERE user_id = :user_id
ORDER BY created_at DESC, id DESC;
