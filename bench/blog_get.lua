-- blog_get.lua - wrk script of bench/blog.sh: GET BLOG_PATH with every "{id}" replaced by a
-- random post id in 1..BLOG_POSTS, so reads spread over the seeded posts.
local path = os.getenv("BLOG_PATH") or "/api/v1/posts/{id}"
local posts = tonumber(os.getenv("BLOG_POSTS") or "10000")

request = function()
    return wrk.format("GET", (path:gsub("{id}", tostring(math.random(1, posts)))))
end
