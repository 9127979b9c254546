// Base64 (RFC 4648, standard alphabet, padded), as OpenAI's embeddings API returns vectors
// with encoding_format "base64": the bytes of little-endian float32s. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::server {

std::string base64_encode(std::span<const uint8_t> bytes);

// nullopt when `text` is not padded standard base64 (length a multiple of 4).
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

// The floats as little-endian IEEE float32 bytes, base64-encoded, on any host byte order.
std::string base64_float32_le(std::span<const float> values);

}  // namespace tessera::server
