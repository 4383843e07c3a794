#include <platform/http.hpp>
#include <platform/ids.hpp>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace bazaar::platform::http {

namespace {

enum class ParamType { any, uuid, integer };

bool matches_type(ParamType type, std::string_view value) {
  switch (type) {
    case ParamType::any: return !value.empty();
    case ParamType::uuid: return is_uuid(value);
    case ParamType::integer:
      return !value.empty() && value.size() <= 18 &&
             std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  return false;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    const auto end = path.find('/', pos);
    segments.push_back(path.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) break;
    pos = end;
  }
  return segments;
}

}  // namespace

// A trie over path segments: literal children first, then one parameter child per type.
struct Router::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  struct ParamChild {
    std::string name;
    ParamType type;
    std::unique_ptr<Node> node;
  };
  std::vector<ParamChild> params;  // typed ones before `any`, so {id:uuid} wins over {slug}
  std::map<Method, const Route*> methods;
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;

void Router::add(Method method, std::string pattern, Access access, Handler handler) {
  Node* node = root_.get();
  for (auto segment : split_path(pattern)) {
    if (segment.size() >= 2 && segment.front() == '{' && segment.back() == '}') {
      auto inner = segment.substr(1, segment.size() - 2);
      std::string name(inner.substr(0, inner.find(':')));
      ParamType type = ParamType::any;
      if (auto colon = inner.find(':'); colon != std::string_view::npos) {
        auto t = inner.substr(colon + 1);
        if (t == "uuid") {
          type = ParamType::uuid;
        } else if (t == "int") {
          type = ParamType::integer;
        } else {
          throw std::invalid_argument("route " + pattern + ": unknown parameter type '" + std::string(t) + "'");
        }
      }
      auto it = std::find_if(node->params.begin(), node->params.end(),
                             [&](const auto& p) { return p.type == type && p.name == name; });
      if (it == node->params.end()) {
        node->params.push_back({name, type, std::make_unique<Node>()});
        std::stable_sort(node->params.begin(), node->params.end(),
                         [](const auto& a, const auto& b) { return a.type != ParamType::any && b.type == ParamType::any; });
        it = std::find_if(node->params.begin(), node->params.end(),
                          [&](const auto& p) { return p.type == type && p.name == name; });
      }
      node = it->node.get();
    } else {
      auto& child = node->literals[std::string(segment)];
      if (!child) child = std::make_unique<Node>();
      node = child.get();
    }
  }
  if (node->methods.count(method)) throw std::invalid_argument("route registered twice: " + pattern);
  routes_.push_back(std::make_unique<Route>(Route{method, std::move(pattern), access, std::move(handler), true}));
  node->methods[method] = routes_.back().get();
}

namespace {
const Router::Node* find_node(const Router::Node* node, const std::vector<std::string_view>& segments, std::size_t i,
                              std::vector<std::pair<std::string, std::string>>& params);
}

RouteMatch Router::match(Method method, std::string_view path) const {
  RouteMatch result;
  const auto segments = split_path(path);
  const Node* node = find_node(root_.get(), segments, 0, result.params);
  if (!node || node->methods.empty()) {
    result.params.clear();
    return result;
  }
  for (const auto& [m, route] : node->methods) result.allowed.push_back(m);
  auto it = node->methods.find(method == Method::head ? Method::get : method);
  if (method == Method::head && it == node->methods.end()) it = node->methods.find(Method::head);
  if (it != node->methods.end()) result.route = it->second;
  return result;
}

namespace {
const Router::Node* find_node(const Router::Node* node, const std::vector<std::string_view>& segments, std::size_t i,
                              std::vector<std::pair<std::string, std::string>>& params) {
  if (i == segments.size()) return node->methods.empty() ? nullptr : node;
  const auto segment = segments[i];
  if (auto lit = node->literals.find(segment); lit != node->literals.end()) {
    if (auto* found = find_node(lit->second.get(), segments, i + 1, params)) return found;
  }
  for (const auto& p : node->params) {
    if (!matches_type(p.type, segment)) continue;
    params.emplace_back(p.name, std::string(segment));
    if (auto* found = find_node(p.node.get(), segments, i + 1, params)) return found;
    params.pop_back();
  }
  return nullptr;
}
}  // namespace

}  // namespace bazaar::platform::http
