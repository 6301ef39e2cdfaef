-- wrong (Q37): each page takes one row too many, so consecutive pages overlap.
SELECT id, title, created_at FROM posts ORDER BY created_at DESC, id DESC LIMIT :limit + 1 OFFSET :offset;
