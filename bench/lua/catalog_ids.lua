-- Shared by the catalog scripts: the published demo product ids that scripts/bench.sh exported to
-- $BENCH_PRODUCT_IDS (one per line, newest first), at most `limit` of them.
return function(limit)
  local path = os.getenv("BENCH_PRODUCT_IDS") or ".local/bench-product-ids.txt"
  local ids = {}
  for line in io.lines(path) do
    if line ~= "" then
      ids[#ids + 1] = line
      if limit and #ids >= limit then break end
    end
  end
  assert(#ids > 0, "no product ids in " .. path)
  return ids
end
