// RegexSplitter: the PCRE2 side of the pre-tokenizers.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "engine/tokenizer/pre_tokenizer.h"
#include "util/utf8.h"

namespace tessera::engine {

namespace {

constexpr uint32_t kOvectorPairs = 64;  // more than any table regex has groups
constexpr size_t kJitStackStart = 32 * 1024;
constexpr size_t kJitStackMax = 8 * 1024 * 1024;

// Match data and a JIT stack for the calling thread, shared by all splitters.
struct ThreadMatchState {
  pcre2_match_data* data = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  pcre2_match_context* context = nullptr;

  ThreadMatchState() {
    data = pcre2_match_data_create(kOvectorPairs, nullptr);
    jit_stack = pcre2_jit_stack_create(kJitStackStart, kJitStackMax, nullptr);
    context = pcre2_match_context_create(nullptr);
    if (context != nullptr && jit_stack != nullptr) {
      pcre2_jit_stack_assign(context, nullptr, jit_stack);
    }
  }
  ~ThreadMatchState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_data_free(data);
  }
  ThreadMatchState(const ThreadMatchState&) = delete;
  ThreadMatchState& operator=(const ThreadMatchState&) = delete;
};

ThreadMatchState& thread_match_state() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

Result<std::unique_ptr<RegexSplitter>> RegexSplitter::compile(const PreTokenizerSpec& spec) {
  std::unique_ptr<RegexSplitter> s(new RegexSplitter());
  for (std::string_view pattern : spec.regexes) {
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      return make_error(ErrorCode::unsupported, "pre-tokenizer regex does not compile at offset " +
                                                    std::to_string(error_offset) + ": " +
                                                    reinterpret_cast<const char*>(message) +
                                                    " (regex: " + std::string(pattern) + ")");
    }
    const bool jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    s->regexes_.push_back(Regex{code, jit});
  }
  return s;
}

RegexSplitter::~RegexSplitter() {
  for (const Regex& re : regexes_) pcre2_code_free(re.code);
}

void RegexSplitter::split(std::string_view text, std::vector<Span>& words,
                          std::vector<Span>& scratch) const {
  words.clear();
  if (text.empty()) return;
  words.push_back(Span{0, text.size()});
  for (const Regex& re : regexes_) {
    scratch.clear();
    apply(re, text, words, scratch);
    words.swap(scratch);
  }
}

void RegexSplitter::apply(const Regex& re, std::string_view text, const std::vector<Span>& in,
                          std::vector<Span>& out) const {
  ThreadMatchState& state = thread_match_state();
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(state.data);
  for (const Span& piece : in) {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + piece.offset);
    const size_t n = piece.length;
    size_t start = 0;  // where the next search begins
    size_t done = 0;   // bytes of the piece already handed out
    while (start < n) {
      int rc = re.jit ? pcre2_jit_match(re.code, subject, n, start, 0, state.data, state.context)
                      : PCRE2_ERROR_JIT_BADOPTION;
      if (rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_JIT_BADOPTION) {
        // No JIT, or a pathological input past the JIT stack: the interpreter keeps its
        // backtracking frames on the heap.
        rc = pcre2_match(re.code, subject, n, start, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, state.data,
                         nullptr);
      }
      if (rc < 0) break;  // no further match (or a resource limit): the rest is one piece
      const size_t match_start = ov[0];
      const size_t match_end = ov[1];
      if (match_end <= match_start) {
        // An empty match splits nothing; move on by one character.
        if (match_start >= n) break;
        start = match_start + utf8::sequence_length(subject[match_start]);
        continue;
      }
      if (match_start > done) out.push_back(Span{piece.offset + done, match_start - done});
      out.push_back(Span{piece.offset + match_start, match_end - match_start});
      done = match_end;
      start = match_end;
    }
    if (done < n) out.push_back(Span{piece.offset + done, n - done});
  }
}

}  // namespace tessera::engine
