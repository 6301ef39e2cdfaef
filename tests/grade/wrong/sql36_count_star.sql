-- wrong (Q36): LEFT JOIN but count(*): a post without comments counts its own row, 1.
SELECT p.id, p.title, count(*) FROM posts p LEFT JOIN comments c ON c.post_id = p.id GROUP BY p.id, p.title ORDER BY p.id;
