-- Q33: sample data for the blog schema. Parents before children: users, then posts that
-- name them, then comments naming both, then tags and the post_tags links. One
-- transaction: either all of it is there or none.
BEGIN;

INSERT INTO users (id, name, email, created_at) VALUES
    (1, 'Ada Lovelace',    'ada@example.com',    '2024-01-02 09:00:00'),
    (2, 'Brian Kernighan', 'brian@example.com',  '2024-01-03 10:30:00'),
    (3, 'Grace Hopper',    'grace@example.com',  '2024-01-05 08:15:00'),
    (4, 'Edsger Dijkstra', 'edsger@example.com', '2024-01-08 14:00:00'),
    (5, 'Barbara Liskov',  'barbara@example.com','2024-01-09 16:45:00'),
    (6, 'Ken Thompson',    'ken@example.com',    '2024-01-11 11:20:00');

INSERT INTO posts (id, user_id, title, body, status, created_at) VALUES
    (1,  1, 'Notes on the engine',        'Loops and conditions.',            'published', '2024-02-01 09:00:00'),
    (2,  1, 'Programs as data',           'Cards all the way down.',          'published', '2024-02-03 09:00:00'),
    (3,  2, 'Hello, world',               'The first program.',               'published', '2024-02-04 12:00:00'),
    (4,  2, 'Pipes',                      'Small tools, combined.',           'published', '2024-02-06 12:00:00'),
    (5,  3, 'A moth in the relay',        'The first actual bug.',            'published', '2024-02-07 08:00:00'),
    (6,  3, 'Compilers for everyone',     'English-like languages.',          'draft',     '2024-02-08 08:00:00'),
    (7,  4, 'Goto considered harmful',    'Structured control flow.',         'published', '2024-02-10 15:00:00'),
    (8,  4, 'Shortest paths',             'A greedy algorithm that works.',   'published', '2024-02-11 15:00:00'),
    (9,  5, 'Substitution',               'Subtypes must keep the promises.', 'published', '2024-02-12 10:00:00'),
    (10, 5, 'Abstract data types',        'Hide the representation.',         'published', '2024-02-14 10:00:00'),
    (11, 1, 'A draft about Bernoulli',    'Numbers, later.',                  'draft',     '2024-02-15 09:00:00');

INSERT INTO comments (id, post_id, user_id, body, created_at) VALUES
    (1,  1, 2, 'Clear explanation.',             '2024-02-01 10:00:00'),
    (2,  1, 3, 'Which engine?',                  '2024-02-01 11:00:00'),
    (3,  1, 1, 'The analytical one.',            '2024-02-01 12:00:00'),
    (4,  3, 6, 'Printed it on a teletype.',      '2024-02-04 13:00:00'),
    (5,  3, 4, 'Too short to be wrong.',         '2024-02-04 14:00:00'),
    (6,  5, 1, 'Great find.',                    '2024-02-07 09:00:00'),
    (7,  7, 2, 'Some gotos are fine.',           '2024-02-10 16:00:00'),
    (8,  7, 5, 'Agreed, mostly.',                '2024-02-10 17:00:00'),
    (9,  9, 4, 'Nicely put.',                    '2024-02-12 11:00:00'),
    (10, 9, 6, 'Contracts help too.',            '2024-02-12 12:00:00'),
    (11, 4, 3, 'Pipes changed everything.',      '2024-02-06 13:00:00');

INSERT INTO tags (id, name) VALUES (1, 'history'), (2, 'languages'), (3, 'algorithms'), (4, 'unix');

INSERT INTO post_tags (post_id, tag_id) VALUES
    (1, 1), (2, 1), (3, 2), (3, 4), (4, 4), (5, 1), (6, 2), (7, 3), (8, 3), (10, 2);

COMMIT;
