#include "optimizer.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include <xtensor/xmath.hpp>

#include "../autograd/grad_mode.hpp"
#include "../io/npz.hpp"

namespace rwd::optim {

namespace detail {

// The shortest text that reads back as the same double ("0.1", not "0.10000000000000001").
std::string format_number(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

void check_option(bool ok, const std::string& optimizer, const std::string& what, double value,
                  const std::string& expected) {
  if (!ok) throw Error(optimizer + ": invalid " + what + ": got " + format_number(value) + ", expected " + expected);
}

namespace {

const xt::xarray<double>& find(const StateDict& in, const std::string& key, const std::string& optimizer,
                               std::vector<std::string>& used) {
  auto it = in.find(key);
  if (it == in.end()) throw Error(optimizer + ": the state has no '" + key + "'");
  used.push_back(key);
  return it->second;
}

double read_scalar(const StateDict& in, const std::string& key, const std::string& optimizer,
                   std::vector<std::string>& used) {
  const auto& array = find(in, key, optimizer, used);
  if (array.size() != 1)
    throw Error(optimizer + ": '" + key + "' has shape " + format_shape(Shape(array.shape().begin(), array.shape().end())) +
                ", expected a single value");
  return *array.data();
}

xt::xarray<double> scalar_array(double value) {
  xt::xarray<double> array = xt::xarray<double>::from_shape({});
  array() = value;
  return array;
}

}  // namespace

void OptionWriter::operator()(const char* name, const double& value) const { out[prefix + name] = scalar_array(value); }
void OptionWriter::operator()(const char* name, const bool& value) const {
  out[prefix + name] = scalar_array(value ? 1.0 : 0.0);
}
void OptionWriter::operator()(const char* name, const std::array<double, 2>& value) const {
  xt::xarray<double> array = xt::xarray<double>::from_shape({2});
  array(0) = value[0];
  array(1) = value[1];
  out[prefix + name] = std::move(array);
}

void OptionReader::operator()(const char* name, double& value) const {
  value = read_scalar(in, prefix + name, optimizer, used);
}
void OptionReader::operator()(const char* name, bool& value) const {
  const double stored = read_scalar(in, prefix + name, optimizer, used);
  if (stored != 0.0 && stored != 1.0)
    throw Error(optimizer + ": '" + prefix + name + "' is " + format_number(stored) + ", expected 0 or 1");
  value = stored == 1.0;
}
void OptionReader::operator()(const char* name, std::array<double, 2>& value) const {
  const auto& array = find(in, prefix + name, optimizer, used);
  if (array.dimension() != 1 || array.size() != 2)
    throw Error(optimizer + ": '" + prefix + name + "' has shape " +
                format_shape(Shape(array.shape().begin(), array.shape().end())) + ", expected [2]");
  value = {array(0), array(1)};
}

void check_all_used(const StateDict& in, std::vector<std::string> used, const std::string& optimizer) {
  std::sort(used.begin(), used.end());
  for (const auto& [key, _] : in)
    if (!std::binary_search(used.begin(), used.end(), key))
      throw Error(optimizer + ": unexpected entry '" + key + "' (state of another optimizer or other options?)");
}

// Groups are numbered 0..n-1 by their "param_groups.<g>.params" entries.
std::size_t count_groups(const StateDict& in, const std::string& optimizer) {
  std::size_t groups = 0;
  while (in.count("param_groups." + std::to_string(groups) + ".params")) ++groups;
  if (groups == 0) throw Error(optimizer + ": the state has no 'param_groups.0.params' (not an optimizer state?)");
  return groups;
}

}  // namespace detail

void write_state_npz(const std::filesystem::path& path, const StateDict& state) {
  io::NpzEntries entries;
  for (const auto& [name, array] : state) entries.emplace(name, io::NpyArray(array));
  io::write_npz(path, entries);
}

StateDict read_state_npz(const std::filesystem::path& path) {
  StateDict state;
  for (const auto& [name, array] : io::read_npz(path)) {
    const std::string what = path.string() + ": entry '" + name + "'";
    switch (array.dtype) {
      case io::DType::Float64: state[name] = array.as<double>(what); break;
      case io::DType::Float32: state[name] = xt::cast<double>(array.as<float>(what)); break;
      case io::DType::Int64: state[name] = xt::cast<double>(array.as<std::int64_t>(what)); break;
    }
  }
  return state;
}

template <class T>
Optimizer<T>::Optimizer(std::vector<std::vector<Tensor<T>>> groups, const std::string& name) {
  if (groups.empty()) throw Error(name + ": got no parameter groups, expected at least one");
  for (auto& group : groups) {
    check_group(group, params_.size(), groups.size() > 1, name);
    params_.push_back(std::move(group));
  }
}

template <class T>
void Optimizer<T>::append_group(std::vector<Tensor<T>> params) {
  check_group(params, params_.size(), true, name() + ": add_param_group");
  params_.push_back(std::move(params));
}

// Every tensor defined, a leaf that requires grad, and in no group so far
// (params_[0..g)) nor twice in this one.
template <class T>
void Optimizer<T>::check_group(const std::vector<Tensor<T>>& params, std::size_t g, bool name_group,
                               const std::string& name) const {
  if (params.empty())
    throw Error(name + ": got an empty parameter list" +
                (name_group ? " for parameter group " + std::to_string(g) : std::string()) +
                ", expected at least one tensor");
  std::map<const void*, std::size_t> group_of;  // tensor -> the group it is in
  for (std::size_t k = 0; k < params_.size(); ++k)
    for (const auto& p : params_[k]) group_of.emplace(p.id(), k);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& p = params[i];
    const std::string where = "parameter " + std::to_string(i) + " of group " + std::to_string(g);
    if (!p.defined()) throw Error(name + ": " + where + " is undefined");
    if (!p.requires_grad())
      throw Error(name + ": " + where + " (shape " + format_shape(p.shape()) +
                  ") does not require grad; call requires_grad_() on it or leave it out");
    if (!p.is_leaf())
      throw Error(name + ": " + where + " is the result of '" + p.op_name() +
                  "', expected a leaf tensor (can't optimize a non-leaf tensor)");
    if (auto [it, fresh] = group_of.emplace(p.id(), g); !fresh)
      throw Error(name + ": " + where + " (shape " + format_shape(p.shape()) +
                  ") appears more than once in the parameter groups: it is already in group " +
                  std::to_string(it->second));
  }
}

template <class T>
const std::vector<Tensor<T>>& Optimizer<T>::params(std::size_t group) const {
  if (group >= params_.size())
    throw Error(name() + ": parameter group " + std::to_string(group) + " does not exist (there are " +
                std::to_string(params_.size()) + ")");
  return params_[group];
}

template <class T>
std::vector<Tensor<T>> Optimizer<T>::all_params() const {
  std::vector<Tensor<T>> out;
  for (const auto& group : params_) out.insert(out.end(), group.begin(), group.end());
  return out;
}

template <class T>
const ParamState<T>& Optimizer<T>::state(std::size_t group, std::size_t index) const {
  if (index >= params(group).size())
    throw Error(name() + ": parameter " + std::to_string(index) + " of group " + std::to_string(group) +
                " does not exist");
  return states_[group][index];
}

template <class T>
void Optimizer<T>::step() {
  NoGradGuard no_grad;
  for (std::size_t g = 0; g < params_.size(); ++g)
    for (std::size_t i = 0; i < params_[g].size(); ++i) {
      Tensor<T>& param = params_[g][i];
      const Tensor<T> grad = param.grad();
      if (!grad.defined()) continue;  // not reached by backward: PyTorch skips it too
      ParamState<T>& state = states_[g][i];
      // Shapes are compared in place (no allocation): a parameter whose value
      // was replaced by one of another shape no longer fits its state.
      const auto& shape = param.value().shape();
      auto where = [&] { return name() + ": parameter " + std::to_string(i) + " of group " + std::to_string(g); };
      if (grad.value().shape() != shape)
        throw Error(where() + " has shape " + format_shape(param.shape()) + " but its gradient has shape " +
                    format_shape(grad.shape()));
      if (!state.buffers.empty() && state.buffers[0].shape() != shape)
        throw Error(where() + " has shape " + format_shape(param.shape()) + " but its optimizer state has shape " +
                    format_shape(Shape(state.buffers[0].shape().begin(), state.buffers[0].shape().end())) +
                    " (was its value replaced by one of another shape?)");
      ++state.step;
      update(g, state, param.mutable_value(), grad.value());
    }
}

template <class T>
void Optimizer<T>::zero_grad() {
  for (auto& group : params_)
    for (auto& param : group) param.zero_grad();
}

template <class T>
std::vector<ParamState<T>> Optimizer<T>::fresh_states(std::size_t group, const std::vector<std::string>& buffer_names,
                                                      const std::vector<double>& initial_values) const {
  std::vector<ParamState<T>> states;
  for (const auto& param : params_[group]) {
    ParamState<T> state;
    for (std::size_t b = 0; b < buffer_names.size(); ++b) {
      xt::xarray<T> buffer = xt::xarray<T>::from_shape(param.shape());
      buffer.fill(static_cast<T>(initial_values[b]));
      state.buffers.push_back(std::move(buffer));
    }
    states.push_back(std::move(state));
  }
  return states;
}

template <class T>
void Optimizer<T>::export_states(const std::vector<std::vector<std::string>>& buffer_names, StateDict& out) const {
  std::size_t flat = 0;
  for (std::size_t g = 0; g < params_.size(); ++g) {
    xt::xarray<double> indices = xt::xarray<double>::from_shape({params_[g].size()});
    for (std::size_t i = 0; i < params_[g].size(); ++i, ++flat) {
      indices(i) = static_cast<double>(flat);
      const std::string prefix = "state." + std::to_string(flat) + ".";
      const ParamState<T>& state = states_[g][i];
      xt::xarray<double> step = xt::xarray<double>::from_shape({});
      step() = static_cast<double>(state.step);
      out[prefix + "step"] = std::move(step);
      for (std::size_t b = 0; b < buffer_names[g].size(); ++b)
        out[prefix + buffer_names[g][b]] = xt::xarray<double>(state.buffers[b]);
    }
    out["param_groups." + std::to_string(g) + ".params"] = std::move(indices);
  }
}

template <class T>
std::vector<std::vector<ParamState<T>>> Optimizer<T>::import_states(
    const StateDict& in, const std::vector<std::vector<std::string>>& buffer_names,
    std::vector<std::string>& used) const {
  const std::string who = name() + ": load_state_dict";
  std::vector<std::vector<ParamState<T>>> states;
  std::size_t flat = 0;
  for (std::size_t g = 0; g < params_.size(); ++g) {
    const std::string key = "param_groups." + std::to_string(g) + ".params";
    const auto& indices = detail::find(in, key, who, used);
    if (indices.dimension() != 1 || indices.size() != params_[g].size())
      throw Error(who + ": '" + key + "' lists " + std::to_string(indices.size()) +
                  " parameters, expected " + std::to_string(params_[g].size()) + " (the group's size)");
    std::vector<ParamState<T>> group_states;
    for (std::size_t i = 0; i < params_[g].size(); ++i, ++flat) {
      if (indices(i) != static_cast<double>(flat))
        throw Error(who + ": '" + key + "' lists parameter " + detail::format_number(indices(i)) + " at position " +
                    std::to_string(i) + ", expected " + std::to_string(flat));
      const std::string prefix = "state." + std::to_string(flat) + ".";
      ParamState<T> state;
      const double step = detail::read_scalar(in, prefix + "step", who, used);
      if (!(step >= 0) || step != std::floor(step) || step > 9.0e15)
        throw Error(who + ": '" + prefix + "step' is " + detail::format_number(step) +
                    ", expected a non-negative integer");
      state.step = static_cast<std::int64_t>(step);
      const Shape shape = params_[g][i].shape();
      for (const auto& buffer_name : buffer_names[g]) {
        const auto& array = detail::find(in, prefix + buffer_name, who, used);
        const Shape stored(array.shape().begin(), array.shape().end());
        if (stored != shape)
          throw Error(who + ": '" + prefix + buffer_name + "' has shape " + format_shape(stored) +
                      " whereas parameter " + std::to_string(flat) + " has shape " + format_shape(shape));
        state.buffers.push_back(xt::xarray<T>(xt::cast<T>(array)));
      }
      group_states.push_back(std::move(state));
    }
    states.push_back(std::move(group_states));
  }
  return states;
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace rwd::optim
