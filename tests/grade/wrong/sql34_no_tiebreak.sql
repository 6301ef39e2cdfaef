-- wrong (Q34): newest first, but posts written at the same moment come in no defined order
-- (here: oldest id first).
SELECT id, title, created_at FROM posts WHERE user_id = :user_id ORDER BY created_at DESC, id ASC;
