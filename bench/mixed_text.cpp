#include "mixed_text.h"

#include <array>
#include <string_view>

#include "util/random.h"

namespace tessera::bench {
namespace {

constexpr std::array<std::string_view, 96> kEnglish = {
    "the",        "model",     "answers",   "questions",  "about",   "contracts",
    "and",        "invoices",  "with",      "sources",    "from",    "its",
    "knowledge",  "base",      "a",         "support",    "team",    "reads",
    "every",      "reply",     "before",    "it",         "is",      "sent",
    "to",         "customer",  "GPU",       "memory",     "was",     "shared",
    "between",    "three",     "small",     "models",     "while",   "one",
    "large",      "waited",    "for",       "room",       "in",      "Tuesday's",
    "report",     "we",        "measured",  "latency",    "of",      "1,250",
    "requests",   "per",       "second",    "at",         "p99",     "under",
    "40ms",       "when",      "documents", "are",        "chunked", "embedded",
    "stored",     "retrieval", "finds",     "passages",   "that",    "matter",
    "most",       "don't",     "forget",    "ISO-8601",   "dates",   "like",
    "2026-11-21", "or",        "URLs",      "such",       "as",      "https://example.com/a?b=c",
    "naïve",      "café",      "résumé",    "well-known", "it's",    "they're",
    "I'll",       "we've",     "e.g.",      "(see",       "below)",  "quickly",
    "careful",    "review",    "policy",    "clause",     "§4.2"};

constexpr std::array<std::string_view, 64> kChinese = {
    "模型",   "回答", "关于", "合同", "和",     "发票", "的",   "问题",  "并",   "给出", "来源",
    "知识库", "中",   "每个", "文档", "都",     "被",   "切分", "成",    "段落", "然后", "向量化",
    "检索",   "找到", "最",   "相关", "内容",   "显卡", "内存", "由",    "三个", "小",   "模型",
    "共享",   "一个", "大",   "等待", "空间",   "我们", "测量", "了",    "延迟", "每秒", "请求",
    "客户",   "支持", "团队", "在",   "发送",   "之前", "阅读", "回复",  "，",   "。",   "、",
    "“",      "”",    "（",   "）",   "2026年", "11月", "21日", "第3条", "！"};

constexpr std::array<std::string_view, 12> kCode = {
    "def retrieve(query, top_k=5):\n    hits = index.search(embed(query), k=top_k)\n"
    "    return [h.text for h in hits if h.score > 0.25]\n",
    "for (size_t i = 0; i < n; ++i) {\n  sum += a[i] * b[i];\n}\n",
    "    if not docs:\n        raise ValueError(f\"no documents for {query!r}\")\n",
    "{\"model\": \"qwen2.5-0.5b\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
    " \"temperature\": 0.7}\n",
    "std::vector<float> scores(batch.size(), 0.0f);\n",
    "class Retriever:\n    \"\"\"Hybrid BM25 + vector search.\"\"\"\n\n    def __init__(self):\n"
    "        self.cache = {}\n",
    "  return Status::ok();  // nothing to do\n",
    "SELECT id, title FROM documents WHERE owner_id = $1 ORDER BY updated_at DESC LIMIT 20;\n",
    "#include <unordered_map>\n#define MAX_TOKENS 4096\n",
    "    x = torch.softmax(logits / 0.8, dim=-1)  # temperature\n",
    "const auto [it, inserted] = cache.try_emplace(key, value);\n",
    "\tif err != nil {\n\t\treturn nil, fmt.Errorf(\"load: %w\", err)\n\t}\n",
};

template <size_t N>
std::string_view pick(const std::array<std::string_view, N>& words, SplitMix64& rng) {
  return words[rng.next() % N];
}

}  // namespace

std::string mixed_text(size_t bytes, uint64_t seed) {
  SplitMix64 rng(seed);
  std::string out;
  out.reserve(bytes + 512);
  while (out.size() < bytes) {
    const double kind = rng.uniform();
    if (kind < 0.45) {  // an English sentence
      const size_t n = 8 + rng.next() % 16;
      for (size_t i = 0; i < n; ++i) {
        std::string_view w = pick(kEnglish, rng);
        if (i == 0 && !w.empty() && w[0] >= 'a' && w[0] <= 'z') {
          out += static_cast<char>(w[0] - 'a' + 'A');
          out += w.substr(1);
        } else {
          out += w;
        }
        out += i + 1 == n ? ". " : (rng.next() % 9 == 0 ? ", " : " ");
      }
      if (rng.next() % 4 == 0) out += "\n\n";
    } else if (kind < 0.70) {  // a Chinese sentence
      const size_t n = 10 + rng.next() % 20;
      for (size_t i = 0; i < n; ++i) out += pick(kChinese, rng);
      out += "。\n";
    } else {  // a line or block of code
      out += pick(kCode, rng);
    }
  }
  return out;
}

}  // namespace tessera::bench
