#include "server/api_error.h"

#include <gtest/gtest.h>

namespace tessera::server {
namespace {

TEST(ApiError, StatusesFollowTheErrorCodes) {
  EXPECT_EQ(api_error(make_error(ErrorCode::invalid_argument, "x")).status, 400);
  EXPECT_EQ(api_error(make_error(ErrorCode::malformed, "x")).status, 400);
  const ApiError nf = api_error(make_error(ErrorCode::not_found, "no model named qwen"));
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.code, "model_not_found");
  const ApiError big =
      api_error(make_error(ErrorCode::out_of_range, "cannot load model m: it needs 9 GiB"));
  EXPECT_EQ(big.status, 507);
  EXPECT_EQ(big.code, "insufficient_memory");
  EXPECT_EQ(api_error(make_error(ErrorCode::out_of_range, "max_tokens 9999 is past")).status, 400);
  const ApiError busy = api_error(make_error(ErrorCode::unavailable, "server busy"));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.retry_after, 1);
  EXPECT_EQ(api_error(make_error(ErrorCode::io_error, "disk")).status, 500);
}

TEST(ApiError, BodyHasOpenAisShape) {
  const auto j = error_body(api_error(400, "invalid_request_error", "bad", "messages"));
  EXPECT_EQ(j["error"]["message"], "bad");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "messages");
  EXPECT_TRUE(j["error"]["code"].is_null());
}

}  // namespace
}  // namespace tessera::server
