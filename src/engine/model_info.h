// What a GGUF model file holds, in the terms a user asks about: architecture, size, shape,
// tokenizer, tensor types. Read from metadata and the tensor table only (no tensor data is
// touched), so it costs milliseconds even for a many-gigabyte file.
//
// Hyperparameters are read from the generic `<arch>.*` keys, so files of architectures
// Tessera cannot run yet are still described. Keys that are present but of the wrong type
// or implausible are errors (a file that lies about its shape must not be planned for).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/architecture.h"
#include "gguf/reader.h"
#include "util/result.h"

namespace tessera::engine {

struct TokenizerInfo {
  std::string model;      // tokenizer.ggml.model: "llama", "gpt2", "bert", ... ("" if none)
  std::string kind;       // "SentencePiece", "byte-level BPE", "WordPiece", ... ("none")
  std::string pre;        // tokenizer.ggml.pre ("" if absent)
  uint64_t n_tokens = 0;  // entries of tokenizer.ggml.tokens
  uint64_t n_merges = 0;  // entries of tokenizer.ggml.merges (BPE)
  int64_t bos = -1;       // special token ids; -1 when the file names none
  int64_t eos = -1;
  bool has_chat_template = false;  // tokenizer.chat_template
};

struct TensorTypeCount {
  std::string type;  // "Q4_K"
  uint64_t tensors = 0;
  uint64_t elements = 0;
  uint64_t bytes = 0;
};

// One tensor of the file, as the memory estimate needs it.
struct TensorSummary {
  std::string name;
  gguf::TensorType type = gguf::TensorType::F32;
  uint32_t n_dims = 0;
  int64_t cols = 0;  // ne[0], the row length
  int64_t rows = 0;  // elements / cols
  uint64_t bytes = 0;
};

struct ModelInfo {
  // the file
  std::string path;
  uint64_t file_size = 0;
  uint32_t gguf_version = 0;
  uint64_t n_metadata = 0;
  uint64_t header_bytes = 0;  // header, metadata and tensor table: the file before tensor data
  // the model
  std::string arch;         // general.architecture
  std::string name;         // general.name ("" if absent)
  std::string file_type;    // general.file_type as llama.cpp names it ("Q4_K_M"), or ""
  bool known_arch = false;  // in Tessera's architecture table
  ModelKind kind = ModelKind::decoder;
  bool vocab_only = false;  // no tensors: a tokenizer-only file
  // shape; 0 when the file does not say. Per-layer values (some files store arrays) are
  // reported as their maximum here and kept per layer below.
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;                    // attention.key_length, else n_embd / n_head
  int64_t head_dim_v = 0;                    // attention.value_length, else n_embd / n_head
  int64_t n_vocab = 0;                       // tokens of the vocabulary (else <arch>.vocab_size)
  double rope_freq_base = 0;                 // 0 when absent
  std::vector<int64_t> n_head_kv_per_layer;  // n_layer entries (empty when unknown)
  // tensors
  uint64_t n_tensors = 0;
  uint64_t n_params = 0;                  // sum of all tensors' element counts
  uint64_t weight_bytes = 0;              // sum of all tensors' data bytes
  std::vector<TensorTypeCount> type_mix;  // by descending bytes
  std::vector<TensorSummary> tensors;     // in file order
  TokenizerInfo tokenizer;
};

// Describes an opened file. Errors (malformed): general.architecture missing or not a
// string; a hyperparameter key of the wrong type or an implausible value (message names it).
Result<ModelInfo> read_model_info(const gguf::GgufFile& file);

// llama.cpp's name for a general.file_type value ("Q4_K_M"); "" for unknown values.
std::string file_type_name(uint64_t file_type);

// Reads the tokenizer.* keys (kept apart: the tokenizer issue will build on it).
Result<TokenizerInfo> read_tokenizer_info(const gguf::GgufFile& file);

}  // namespace tessera::engine
