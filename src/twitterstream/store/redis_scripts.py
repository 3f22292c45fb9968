"""The Lua scripts of the Redis store: what must happen at once, whatever other writers or readers do."""

#: Save a post and match it to its queries once, announcing it on each query's live channel and counting it
#: in each query's stats.
SAVE = """
-- KEYS[1] post, KEYS[2] post's queries, then for each query: latest, events, this minute's stats
-- ARGV: record, ttl, score, post key, post id, maxlen, then the query keys, then the stats' ttl and counters
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[2])
local newly = {}
local n = (#KEYS - 2) / 3
for i = 1, n do
  local latest, events, stats = KEYS[3 * i], KEYS[1 + 3 * i], KEYS[2 + 3 * i]
  if redis.call('ZADD', latest, 'NX', ARGV[3], ARGV[4]) == 1 then
    redis.call('XADD', events, 'MAXLEN', '~', ARGV[6], '*', 'k', 'post', 'p', ARGV[4], 'i', ARGV[5])
    redis.call('SADD', KEYS[2], ARGV[6 + i])
    table.insert(newly, ARGV[6 + i])
    -- stats: one more of each of the post's counters in this minute (see redis_stats.py)
    for j = 8 + n, #ARGV do redis.call('HINCRBY', stats, ARGV[j], 1) end
    redis.call('EXPIRE', stats, ARGV[7 + n])
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return newly
"""

#: One page of a query's posts after a mark, read in one go (a write in between cannot shift it).
PAGE = """
-- KEYS[1] a query's sorted set (newest first = ZREVRANGE order, as latest() reads it)
-- ARGV: mark score or '', mark member, until or '' (exclusive), count
-- Returns member, score, member, score... of the page: one script, so a concurrent write cannot shift it.
local key, start = KEYS[1], 0
if ARGV[1] ~= '' then
  local score = redis.call('ZSCORE', key, ARGV[2])
  if score and tonumber(score) == tonumber(ARGV[1]) then
    start = redis.call('ZREVRANK', key, ARGV[2]) + 1
  else  -- the mark's post is gone: count what sorts before where it was
    start = redis.call('ZCOUNT', key, '(' .. ARGV[1], '+inf')
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, ARGV[1], ARGV[1])) do
      if member >= ARGV[2] then start = start + 1 end
    end
  end
end
if ARGV[3] ~= '' then
  start = math.max(start, redis.call('ZCOUNT', key, ARGV[3], '+inf'))
end
return redis.call('ZREVRANGE', key, start, start + tonumber(ARGV[4]) - 1, 'WITHSCORES')
"""

#: Take or renew the ingester lock (only its holder renews it).
LOCK = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

#: Release the ingester lock, only by its holder.
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
