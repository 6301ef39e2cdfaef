-- blog_post.lua - wrk script of bench/blog.sh: POST /api/v1/posts with a valid body (a random
-- existing author, two tags), the create route of the blog benchmark. Every request adds a
-- post: the tables grow during the run. BLOG_USERS (environment): the seeded user count.
local users = tonumber(os.getenv("BLOG_USERS") or "2000")
local n = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
    n = n + 1
    local body = string.format(
        '{"author_id":%d,"title":"bench post %d","body":"a post written by the benchmark","status":"published",'
            .. '"tags":["bench","performance"]}',
        math.random(1, users), n)
    return wrk.format(nil, "/api/v1/posts", nil, body)
end
