// Unicode text helpers with Python's str semantics: strings are UTF-8 bytes, but lengths,
// indices, case mapping and whitespace follow code points as Python does. A byte that is not
// valid UTF-8 decodes as its own code point (0xDC00 + byte, like Python's surrogateescape) and
// encodes back to the same byte, so no input is ever rejected or altered.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::jinja::text {

// Decodes the code point at s[i] and advances i past it.
char32_t decode(std::string_view s, size_t& i);
void append_utf8(std::string& out, char32_t cp);

bool is_ascii(std::string_view s);
size_t count_code_points(std::string_view s);
// Byte offsets of every code point, plus s.size() at the end (size = code points + 1).
std::vector<size_t> code_point_offsets(std::string_view s);

// Character classes of Python's str methods (isspace, isalpha, ...), per code point.
bool is_space(char32_t cp);
bool is_line_break(char32_t cp);  // a line boundary of str.splitlines
bool is_alpha(char32_t cp);
bool is_decimal(char32_t cp);
bool is_numeric(char32_t cp);
bool is_lower(char32_t cp);
bool is_upper(char32_t cp);
bool is_cased(char32_t cp);
bool is_printable(char32_t cp);  // str.isprintable, as used by repr()
bool is_word(char32_t cp);       // the \w of Python's re

char32_t to_upper(char32_t cp);
char32_t to_lower(char32_t cp);
char32_t to_title(char32_t cp);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);    // str.capitalize
std::string title_words(std::string_view s);   // Jinja's title filter (not str.title)
std::string python_title(std::string_view s);  // str.title
std::string swapcase(std::string_view s);

// str.strip / lstrip / rstrip: chars == nullptr strips whitespace, else any of those code points.
std::string_view strip(std::string_view s, const std::string* chars, bool left, bool right);

// str.split / str.rsplit / str.splitlines into out. sep == nullptr splits on whitespace runs;
// maxsplit < 0: no limit. They return false (out incomplete) once out would hold more than
// max_parts strings, so that splitting can be bounded before it allocates.
bool split(std::string_view s, const std::string* sep, long long maxsplit, size_t max_parts,
           std::vector<std::string>& out);
bool rsplit(std::string_view s, const std::string* sep, long long maxsplit, size_t max_parts,
            std::vector<std::string>& out);
bool splitlines(std::string_view s, bool keepends, size_t max_parts, std::vector<std::string>& out);

// Predicates over a whole string, as str.isdigit() & co (false for the empty string).
enum class StringClass { alpha, alnum, digit, decimal, numeric, space, lower, upper, title };
bool string_is(std::string_view s, StringClass c);

}  // namespace tessera::jinja::text
