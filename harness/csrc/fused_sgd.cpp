// ATen's fused SGD kernel (`at::_fused_sgd_`, what `torch.optim.SGD(fused=True)` calls) and
// the release of gradients (`zero_grad(set_to_none=True)`) for mixbench's optimizer. tch's
// generated bindings leave out the ops that take tensor lists and cannot undefine a gradient,
// so these two calls are bound here. The handles are tch's: a `tch::Tensor` holds an `at::Tensor*`.
#include <ATen/core/Tensor.h>
#include <ATen/ops/_fused_sgd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

namespace {

std::vector<at::Tensor> gather(at::Tensor *const *handles, size_t n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(*handles[i]);
  }
  return out;
}

}  // namespace

extern "C" {

// One SGD update of `n` parameters with their gradients and momentum buffers, in place, with
// PyTorch's semantics (no dampening, not maximising). `n_buffers` is `n`, or 0 without
// momentum (the kernel then takes no buffers). `is_first_step` makes every buffer the
// decayed gradient, as PyTorch does for a parameter's first update. Returns null on success,
// otherwise an error message for `mixbench_free_error`.
char *mixbench_fused_sgd(at::Tensor *const *params, at::Tensor *const *grads,
                         at::Tensor *const *buffers, size_t n, size_t n_buffers,
                         double weight_decay,
                         double momentum, double lr, bool nesterov, bool is_first_step) {
  try {
    std::vector<at::Tensor> p = gather(params, n);
    std::vector<at::Tensor> g = gather(grads, n);
    std::vector<at::Tensor> b = gather(buffers, n_buffers);
    at::_fused_sgd_(p, g, b, weight_decay, momentum, lr, /*dampening=*/0.0, nesterov,
                    /*maximize=*/false, is_first_step);
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}

// Drops the gradients of `n` parameters (PyTorch's `zero_grad()` default): the next backward
// pass hands its fresh gradient tensors over instead of adding them into zeroed storage.
// Returns null on success, otherwise an error message for `mixbench_free_error`.
char *mixbench_clear_grads(at::Tensor *const *params, size_t n) {
  try {
    for (size_t i = 0; i < n; ++i) {
      params[i]->mutable_grad().reset();
    }
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}

// Frees an error message returned by `mixbench_fused_sgd` or `mixbench_clear_grads`.
void mixbench_free_error(char *message) { std::free(message); }

}  // extern "C"
