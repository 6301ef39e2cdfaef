-- wrong (Q34): binds :user_id but the filter is on the wrong column.
SELECT id, title, created_at FROM posts WHERE id = :user_id OR user_id = :user_id ORDER BY created_at DESC, id DESC;
