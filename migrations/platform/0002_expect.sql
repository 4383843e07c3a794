-- platform.expect(condition, what): true, or an error with SQLSTATE BZ001 ("expectation failed: <what>").
-- A pipelined batch (platform/pq.hpp, pq::Pipeline) is one implicit transaction sent in one round trip, so
-- it cannot stop half-way on a C++ decision; a statement that calls expect() on what the rest of the batch
-- relies on (e.g. "the order was still pending") aborts the whole batch instead, and the caller takes its
-- slow path. Callers test for it with pq::is_expectation_failure.
CREATE FUNCTION platform.expect(condition boolean, what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF condition IS NOT TRUE THEN
    RAISE EXCEPTION 'expectation failed: %', what USING ERRCODE = 'BZ001';
  END IF;
  RETURN true;
END
$$;
