// extern "C" shim over Debian's libonnx 1.12: checker, shape inference and
// version converter. Needs ONNX_ML=1 and ONNX_NAMESPACE=onnx (Debian only ships
// onnx-ml.pb.h) and links onnx, onnx_proto and protobuf.

#include "COnnxBridge.h"

#include <climits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <malloc.h>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

// SwiftPM passes -DDEBUG=1 in debug builds, which breaks libonnx's
// version_converter/convert.h ("bool DEBUG = false;" member). Hide it while
// including the ONNX headers.
#pragma push_macro("DEBUG")
#undef DEBUG
#include "onnx/checker.h"
#include "onnx/common/constants.h"
#include "onnx/defs/schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/version_converter/convert.h"
#pragma pop_macro("DEBUG")

namespace {

// Copies msg into err (NUL-terminated, truncated to err_len, never splitting a
// UTF-8 sequence). Never throws.
void set_err(char *err, size_t err_len, const char *msg) noexcept {
  if (err == nullptr || err_len == 0) return;
  if (msg == nullptr) msg = "";
  size_t n = std::strlen(msg);
  if (n >= err_len) {
    n = err_len - 1;
    // Back off to a UTF-8 lead byte so Swift's String(cString:) sees valid text.
    while (n > 0 && (static_cast<unsigned char>(msg[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(err, msg, n);
  err[n] = '\0';
}

void set_err(char *err, size_t err_len, const std::string &msg) noexcept {
  set_err(err, err_len, msg.c_str());
}

// Parses bytes into model. Returns SCT_ONNX_OK or SCT_ONNX_PARSE_ERROR.
int parse_model(const void *bytes, size_t len, onnx::ModelProto &model, char *err, size_t err_len) {
  if (bytes == nullptr && len != 0) {
    set_err(err, err_len, "invalid argument: bytes is NULL");
    return SCT_ONNX_PARSE_ERROR;
  }
  if (len > static_cast<size_t>(INT_MAX)) {
    set_err(err, err_len,
            "invalid argument: model is larger than 2 GiB (INT_MAX bytes), protobuf cannot parse it");
    return SCT_ONNX_PARSE_ERROR;
  }
  static const char kEmpty = 0;
  if (!model.ParseFromArray(bytes != nullptr ? bytes : &kEmpty, static_cast<int>(len))) {
    set_err(err, err_len, "failed to parse bytes as an onnx.ModelProto");
    return SCT_ONNX_PARSE_ERROR;
  }
  return SCT_ONNX_OK;
}

// Maps the "ai.onnx" alias to the canonical default domain "".
std::string canonical_domain(const std::string &d) {
  return d == "ai.onnx" ? std::string(onnx::ONNX_DOMAIN) : d;
}

const char *domain_label(const std::string &d) {
  return d.empty() ? "ai.onnx (default domain)" : d.c_str();
}

int max_ir_version() {
  // Read the largest value of the onnx.Version enum from libonnx_proto's
  // descriptor at run time; fall back to the compile-time constant.
  int best = static_cast<int>(onnx::Version_MAX);
  if (const auto *desc = onnx::Version_descriptor()) {
    int m = 0;
    for (int i = 0; i < desc->value_count(); ++i) {
      if (desc->value(i)->number() > m) m = desc->value(i)->number();
    }
    if (m > 0) best = m;
  }
  return best;
}

// Checks one opset_import list against libonnx's DomainToVersionRange.
// local_domains are domains defined by model-local functions (allowed even
// though libonnx has no schema registry entry for them).
int check_opsets(const google::protobuf::RepeatedPtrField<onnx::OperatorSetIdProto> &imports,
                 const std::unordered_map<std::string, std::pair<int, int>> &ranges,
                 const std::unordered_set<std::string> &local_domains, const std::string &where,
                 char *err, size_t err_len) {
  for (const auto &imp : imports) {
    const std::string dom = canonical_domain(imp.domain());
    auto it = ranges.find(dom);
    if (it == ranges.end()) {
      if (local_domains.count(imp.domain()) != 0 || local_domains.count(dom) != 0) continue;
      set_err(err, err_len,
              "not applicable: " + where + " imports unknown operator set domain '" + imp.domain() +
                  "' (version " + std::to_string(imp.version()) +
                  "), which this libonnx has no schemas for");
      return SCT_ONNX_NOT_APPLICABLE;
    }
    if (imp.version() > it->second.second) {
      set_err(err, err_len,
              "not applicable: " + where + " imports opset " + std::to_string(imp.version()) + " of domain " +
                  domain_label(dom) + ", but this libonnx supports at most opset " +
                  std::to_string(it->second.second));
      return SCT_ONNX_NOT_APPLICABLE;
    }
  }
  return SCT_ONNX_OK;
}

// Returns SCT_ONNX_NOT_APPLICABLE (with a message) if libonnx is too old to
// judge the model: IR version too new, opset too new, or an unknown domain.
int check_applicable(const onnx::ModelProto &model, char *err, size_t err_len) {
  const int max_ir = max_ir_version();
  if (model.ir_version() > max_ir) {
    set_err(err, err_len,
            "not applicable: model ir_version " + std::to_string(model.ir_version()) +
                " is newer than this libonnx supports (max IR version " + std::to_string(max_ir) + ")");
    return SCT_ONNX_NOT_APPLICABLE;
  }
  const auto &ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  std::unordered_set<std::string> local_domains;
  for (const auto &f : model.functions()) local_domains.insert(f.domain());

  int rc = check_opsets(model.opset_import(), ranges, local_domains, "model", err, err_len);
  if (rc != SCT_ONNX_OK) return rc;
  for (const auto &f : model.functions()) {
    rc = check_opsets(f.opset_import(), ranges, local_domains,
                      "model-local function '" + f.domain() + "::" + f.name() + "'", err, err_len);
    if (rc != SCT_ONNX_OK) return rc;
  }
  return SCT_ONNX_OK;
}

int serialize_out(const onnx::ModelProto &model, void **out, size_t *out_len, char *err, size_t err_len) {
  const size_t size = model.ByteSizeLong();
  if (size > static_cast<size_t>(INT_MAX)) {
    set_err(err, err_len, "resulting model is larger than 2 GiB, protobuf cannot serialize it");
    return SCT_ONNX_INVALID;
  }
  void *buf = std::malloc(size != 0 ? size : 1);
  if (buf == nullptr) {
    set_err(err, err_len, "out of memory");
    return SCT_ONNX_INVALID;
  }
  if (!model.SerializeToArray(buf, static_cast<int>(size))) {
    std::free(buf);
    set_err(err, err_len, "failed to serialize the resulting ModelProto");
    return SCT_ONNX_INVALID;
  }
  *out = buf;
  *out_len = size;
  return SCT_ONNX_OK;
}

bool check_out_args(void **out, size_t *out_len, char *err, size_t err_len) {
  if (out == nullptr || out_len == nullptr) {
    set_err(err, err_len, "invalid argument: out or out_len is NULL");
    return false;
  }
  *out = nullptr;
  *out_len = 0;
  return true;
}

} // namespace

#define SCT_CATCH_ALL(err, err_len)                                  \
  catch (const std::exception &e) {                                  \
    set_err(err, err_len, e.what());                                 \
    return SCT_ONNX_INVALID;                                         \
  }                                                                  \
  catch (...) {                                                      \
    set_err(err, err_len, "unknown C++ exception thrown by libonnx"); \
    return SCT_ONNX_INVALID;                                         \
  }

extern "C" {

static int check_model_impl(const void *bytes, size_t len, int full_check, char *err, size_t err_len) {
  try {
    onnx::ModelProto model;
    int rc = parse_model(bytes, len, model, err, err_len);
    if (rc != SCT_ONNX_OK) return rc;
    rc = check_applicable(model, err, err_len);
    if (rc != SCT_ONNX_OK) return rc;
    onnx::checker::check_model(model);
    if (full_check != 0) {
      // Same as onnx.checker.check_model(model, full_check=True) in Python 1.12:
      // infer_shapes(model, check_type=True, strict_mode=True).
      onnx::ShapeInferenceOptions options(/*check_type=*/true, /*error_mode=*/1, /*data_prop=*/false);
      onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
    }
    return SCT_ONNX_OK;
  }
  SCT_CATCH_ALL(err, err_len)
}

int sct_onnx_check_model(const void *bytes, size_t len, int full_check, char *err, size_t err_len) {
  set_err(err, err_len, "");
  int rc = check_model_impl(bytes, len, full_check, err, err_len);
  // The parsed copy held every weight a second time; its freed blocks can stay in the heap (below
  // glibc's mmap threshold once it has grown) and so in the resident set of a long-lived host: give
  // them back to the system.
  malloc_trim(0);
  return rc;
}

int sct_onnx_infer_shapes(const void *bytes, size_t len, void **out, size_t *out_len, char *err, size_t err_len) {
  set_err(err, err_len, "");
  try {
    if (!check_out_args(out, out_len, err, err_len)) return SCT_ONNX_PARSE_ERROR;
    onnx::ModelProto model;
    int rc = parse_model(bytes, len, model, err, err_len);
    if (rc != SCT_ONNX_OK) return rc;
    rc = check_applicable(model, err, err_len);
    if (rc != SCT_ONNX_OK) return rc;
    onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/0, /*data_prop=*/false);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
    return serialize_out(model, out, out_len, err, err_len);
  }
  SCT_CATCH_ALL(err, err_len)
}

int sct_onnx_convert_version(const void *bytes, size_t len, int target_opset, void **out, size_t *out_len,
                             char *err, size_t err_len) {
  set_err(err, err_len, "");
  try {
    if (!check_out_args(out, out_len, err, err_len)) return SCT_ONNX_PARSE_ERROR;
    onnx::ModelProto model;
    int rc = parse_model(bytes, len, model, err, err_len);
    if (rc != SCT_ONNX_OK) return rc;
    rc = check_applicable(model, err, err_len);
    if (rc != SCT_ONNX_OK) return rc;
    const int max_opset = sct_onnx_max_opset();
    if (target_opset > max_opset) {
      set_err(err, err_len,
              "not applicable: target opset " + std::to_string(target_opset) +
                  " is newer than this libonnx supports (max opset " + std::to_string(max_opset) + ")");
      return SCT_ONNX_NOT_APPLICABLE;
    }
    if (target_opset < 1) {
      set_err(err, err_len, "invalid target opset " + std::to_string(target_opset));
      return SCT_ONNX_INVALID;
    }
    // The 1.12 converter assumes a well-formed graph; validate first.
    onnx::checker::check_model(model);
    // Several adapters (e.g. Softmax 12->13, which asserts "input shape is
    // unknown") need shapes of intermediate values, which only exist as
    // value_info. Best effort: run non-strict shape inference first and fall
    // back to the model as given if inference itself throws.
    try {
      onnx::ModelProto inferred = model;
      onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(), onnx::ShapeInferenceOptions());
      model.Swap(&inferred);
    } catch (...) {
    }
    onnx::ModelProto converted = onnx::version_conversion::ConvertVersion(model, target_opset);
    return serialize_out(converted, out, out_len, err, err_len);
  }
  SCT_CATCH_ALL(err, err_len)
}

int sct_onnx_max_opset(void) {
  try {
    const auto &map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
    auto it = map.find(onnx::ONNX_DOMAIN);
    if (it != map.end()) return it->second.second;
  } catch (...) {
  }
  return 17; // Debian 12's libonnx 1.12
}

int sct_onnx_max_ir_version(void) {
  try {
    return max_ir_version();
  } catch (...) {
  }
  return 8; // Debian 12's libonnx 1.12
}

int sct_onnx_checker_ignores_raw_data_size(void) {
  // A valid model but for one initializer whose raw_data holds 1 byte where its shape needs 16: a
  // checker that accepts it does not look at payload lengths. Any failure (including one for another
  // reason) answers 0, which only turns the caller's shortcut off.
  static const int answer = [] {
    try {
      onnx::ModelProto m;
      m.set_ir_version(8);
      auto *op = m.add_opset_import();
      op->set_domain("");
      op->set_version(13);
      auto *g = m.mutable_graph();
      g->set_name("probe");
      auto *t = g->add_initializer();
      t->set_name("w");
      t->set_data_type(onnx::TensorProto::FLOAT);
      t->add_dims(4);
      t->set_raw_data(std::string(1, '\0'));
      auto *o = g->add_output();
      o->set_name("w");
      auto *tt = o->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(onnx::TensorProto::FLOAT);
      tt->mutable_shape()->add_dim()->set_dim_value(4);
      onnx::checker::check_model(m);
      return 1;
    } catch (...) {
      return 0;
    }
  }();
  return answer;
}

void sct_onnx_free(void *p) {
  std::free(p);
}

} // extern "C"
