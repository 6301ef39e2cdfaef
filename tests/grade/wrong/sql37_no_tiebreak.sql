-- wrong (Q37): ordered by created_at only, ties broken by id ascending (not the
-- required descending): the pages are not the specified ones.
SELECT id, title, created_at FROM posts ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset;
