-- wrong (Q33): users and posts, but no comments, tags or links between them.
INSERT INTO users (id, name, email) VALUES (1, 'Ada', 'ada@example.com'), (2, 'Brian', 'brian@example.com'),
    (3, 'Grace', 'grace@example.com'), (4, 'Ken', 'ken@example.com'), (5, 'Edsger', 'edsger@example.com');
INSERT INTO posts (id, user_id, title, body) VALUES (1, 1, 'a', 'x'), (2, 1, 'b', 'x'), (3, 2, 'c', 'x'),
    (4, 2, 'd', 'x'), (5, 3, 'e', 'x'), (6, 3, 'f', 'x'), (7, 4, 'g', 'x'), (8, 4, 'h', 'x'), (9, 5, 'i', 'x'),
    (10, 5, 'j', 'x');
