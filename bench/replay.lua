-- wrk script: replay pre-signed Shopify deliveries from a file, each thread its own share.
-- One request per line: webhook id, HMAC, body (single-line JSON), separated by tabs.
-- Usage: wrk -s bench/replay.lua URL -- FILE   (the path comes from the URL)

local requests, position = {}, 0

function setup(thread)
  thread:set("id", thread_count or 0)
  thread_count = (thread_count or 0) + 1
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  local total, index = tonumber(args[2]), 0
  for line in file:lines() do
    if index % total == id then
      local webhook, hmac, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["X-Shopify-Topic"] = "orders/paid",
        ["X-Shopify-Hmac-Sha256"] = hmac,
        ["X-Shopify-Shop-Domain"] = "bench-shop.myshopify.com",
        ["X-Shopify-API-Version"] = "2026-07",
        ["X-Shopify-Webhook-Id"] = webhook,
      }, body)
    end
    index = index + 1
  end
  file:close()
end

function request()
  position = position % #requests + 1  -- wraps around only if the run outlasts the file: duplicates
  return requests[position]
end
