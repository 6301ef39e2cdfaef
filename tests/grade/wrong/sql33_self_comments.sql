-- wrong (Q33): enough rows, but every post is by one user and every comment is its author's own.
INSERT INTO users (id, name, email) VALUES (1, 'Ada', 'ada@example.com'), (2, 'Brian', 'brian@example.com'),
    (3, 'Grace', 'grace@example.com'), (4, 'Ken', 'ken@example.com'), (5, 'Edsger', 'edsger@example.com');
INSERT INTO posts (id, user_id, title, body) VALUES (1, 1, 'a', 'x'), (2, 1, 'b', 'x'), (3, 1, 'c', 'x'),
    (4, 1, 'd', 'x'), (5, 1, 'e', 'x'), (6, 1, 'f', 'x'), (7, 1, 'g', 'x'), (8, 1, 'h', 'x'), (9, 1, 'i', 'x'),
    (10, 1, 'j', 'x');
INSERT INTO comments (id, post_id, user_id, body) VALUES (1, 1, 1, 'c'), (2, 2, 1, 'c'), (3, 3, 1, 'c'),
    (4, 4, 1, 'c'), (5, 5, 1, 'c'), (6, 6, 1, 'c'), (7, 7, 1, 'c'), (8, 8, 1, 'c'), (9, 9, 1, 'c'), (10, 1, 1, 'c');
INSERT INTO tags (id, name) VALUES (1, 't1'), (2, 't2'), (3, 't3');
INSERT INTO post_tags (post_id, tag_id) VALUES (1, 1), (2, 1), (3, 2), (4, 3), (5, 3);
