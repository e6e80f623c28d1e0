// The Python entry points of relulab_torch: `relulab_torch._relulab_torch_ops.activation(x, kind,
// p0, p1)` and `.prelu(x, weight)`, the same functions as torch.ops.relulab.* (activation_ops.cpp,
// prelu_ops.cpp; importing this module also registers those). Why a CPython module as well as the
// dispatcher ops: a call through torch.ops builds a boxed argument stack from the schema, about
// 0.5 us, which is a quarter of a 2^14-element ReLU; METH_FASTCALL with the tensor unpacked in
// place costs about what PyTorch's own bindings do. The GIL is released while the kernels run,
// as PyTorch's ops do.
// First: libtorch 1.13's headers use c10::IValue in std::vector before defining it, which clang 14
// rejects in C++20 (vector's members are constexpr there); g++ 12 accepts either order.
#include <ATen/core/ivalue.h>

#include <Python.h>
#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>

#include "ops.hpp"

namespace relulab::torch_ext {
namespace {

bool unpack_tensor(PyObject* object, const char* function, const char* argument, at::Tensor& out) {
  if (!THPVariable_Check(object)) {
    PyErr_Format(PyExc_TypeError, "relulab_torch.%s: %s must be a torch.Tensor, not %s", function,
                 argument, Py_TYPE(object)->tp_name);
    return false;
  }
  out = THPVariable_Unpack(object);
  return true;
}

bool check_count(Py_ssize_t nargs, Py_ssize_t expected, const char* function) {
  if (nargs == expected) return true;
  PyErr_Format(PyExc_TypeError, "relulab_torch.%s takes %zd arguments, got %zd", function, expected,
               nargs);
  return false;
}

PyObject* py_activation(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  HANDLE_TH_ERRORS
  if (!check_count(nargs, 4, "activation")) return nullptr;
  at::Tensor x;
  if (!unpack_tensor(args[0], "activation", "x", x)) return nullptr;
  const long kind = PyLong_AsLong(args[1]);
  const double p0 = PyFloat_AsDouble(args[2]);
  const double p1 = PyFloat_AsDouble(args[3]);
  if (PyErr_Occurred()) return nullptr;
  at::Tensor y;
  {
    pybind11::gil_scoped_release no_gil;
    y = torch_ext::activation(x, kind, p0, p1);
  }
  return THPVariable_Wrap(std::move(y));
  END_HANDLE_TH_ERRORS
}

PyObject* py_prelu(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  HANDLE_TH_ERRORS
  if (!check_count(nargs, 2, "prelu")) return nullptr;
  at::Tensor x, weight;
  if (!unpack_tensor(args[0], "prelu", "input", x)) return nullptr;
  if (!unpack_tensor(args[1], "prelu", "weight", weight)) return nullptr;
  at::Tensor y;
  {
    pybind11::gil_scoped_release no_gil;
    y = torch_ext::prelu(x, weight);
  }
  return THPVariable_Wrap(std::move(y));
  END_HANDLE_TH_ERRORS
}

PyMethodDef methods[] = {
    {"activation", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(py_activation)),
     METH_FASTCALL, "activation(x, kind, p0, p1): torch.ops.relulab.activation without the boxing"},
    {"prelu", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(py_prelu)), METH_FASTCALL,
     "prelu(x, weight): torch.ops.relulab.prelu without the boxing"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT,
                      "_relulab_torch_ops",
                      "relulab's activation kernels for PyTorch (see relulab_torch)",
                      -1,
                      methods,
                      nullptr,
                      nullptr,
                      nullptr,
                      nullptr};

}  // namespace
}  // namespace relulab::torch_ext

PyMODINIT_FUNC PyInit__relulab_torch_ops() {
  return PyModule_Create(&relulab::torch_ext::module);
}
