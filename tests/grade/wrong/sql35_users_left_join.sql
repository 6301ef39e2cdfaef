-- wrong (Q35): starts from users with a LEFT JOIN: users without posts appear with NULLs.
SELECT p.id, p.title, u.name, u.email FROM users u LEFT JOIN posts p ON p.user_id = u.id ORDER BY p.id;
