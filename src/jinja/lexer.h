// Splitting template source into tokens, with Jinja2's whitespace control: {%- -%} {{- -}}
// {#- -#} strip whitespace, {%+ / +%} keep it, trim_blocks drops the newline after a block or
// comment tag, lstrip_blocks drops the blanks before one on its line. {% raw %} bodies become
// text; comments disappear.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jinja/template.h"
#include "util/result.h"

namespace tessera::jinja {

enum class TokenType : uint8_t {
  text,         // template data outside tags
  var_begin,    // {{
  var_end,      // }}
  block_begin,  // {%
  block_end,    // %}
  name,
  string,  // value: the decoded literal
  integer,
  floating,
  op,  // + - * / // % ** ~ == != < <= > >= = . : | , ; ( ) [ ] { }
  eof,
};

struct Token {
  TokenType type = TokenType::eof;
  uint32_t pos = 0;  // byte offset in the (normalized) source
  std::string text;  // text, name, operator or string value
  int64_t int_value = 0;
  double float_value = 0;
};

// Jinja2 reads "\r\n" and "\r" as "\n" and drops one newline at the very end.
std::string normalize_source(std::string_view source);

// Tokens of normalized source, ending with one eof token. malformed errors carry
// "NAME:LINE:COL: ".
Result<std::vector<Token>> tokenize(std::string_view source, const Options& options,
                                    const std::string& name);

// "NAME:LINE:COL: " for byte offset pos of source (1-based; columns count code points).
std::string source_position(std::string_view name, std::string_view source, size_t pos);

}  // namespace tessera::jinja
