-- wrong (Q35): joins on the post's id instead of its user_id.
SELECT p.id, p.title, u.name, u.email FROM posts p JOIN users u ON u.id = p.id ORDER BY p.id;
