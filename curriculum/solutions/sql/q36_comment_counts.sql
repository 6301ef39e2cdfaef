-- Q36: comments per post. LEFT JOIN keeps posts without comments; count(c.id) counts only
-- matched comments (NULL for an unmatched post, so 0), where count(*) would count the
-- post's own row and say 1.
SELECT p.id, p.title, count(c.id) AS comment_count
FROM posts AS p
LEFT JOIN comments AS c ON c.post_id = p.id
GROUP BY p.id, p.title
ORDER BY p.id;
