#include <platform/http.hpp>
#include <platform/ids.hpp>

#include <boost/container/small_vector.hpp>

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

// Inline for up to 16 segments: matching a request allocates nothing here.
using Segments = boost::container::small_vector<std::string_view, 16>;

Segments split_path(std::string_view path) {
  Segments segments;
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
  // Root only: "shape METHOD" → pattern of every route, to refuse duplicates that differ only in the
  // names of their parameters.
  std::map<std::string, std::string, std::less<>> shapes;
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;

void Router::add(Method method, std::string pattern, Access access, Handler handler) {
  Node* node = root_.get();
  std::string shape;  // the pattern without parameter names: "/users/{:any}"
  for (auto segment : split_path(pattern)) {
    shape += '/';
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
      shape += type == ParamType::uuid ? "{:uuid}" : type == ParamType::integer ? "{:int}" : "{:any}";
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
      shape += segment;
      auto& child = node->literals[std::string(segment)];
      if (!child) child = std::make_unique<Node>();
      node = child.get();
    }
  }
  if (node->methods.count(method)) throw std::invalid_argument("route registered twice: " + pattern);
  // The same shape under other parameter names could never be reached: refuse it too.
  if (auto it = root_->shapes.find(shape + ' ' + std::string(to_string(method))); it != root_->shapes.end()) {
    throw std::invalid_argument("route " + pattern + " duplicates " + it->second);
  }
  root_->shapes.emplace(shape + ' ' + std::string(to_string(method)), pattern);
  routes_.push_back(std::make_unique<Route>(Route{method, std::move(pattern), access, std::move(handler)}));
  node->methods[method] = routes_.back().get();
}

namespace {

// Depth-first over the trie in priority order (literal, typed parameters, untyped parameter). Calls
// visit(node, params) for every node that holds routes for the whole path; stops when visit returns true.
template <class Visit>
bool walk(const Router::Node* node, const Segments& segments, std::size_t i,
          std::vector<std::pair<std::string, std::string>>& params, const Visit& visit) {
  if (i == segments.size()) return !node->methods.empty() && visit(*node, params);
  const auto segment = segments[i];
  if (auto lit = node->literals.find(segment); lit != node->literals.end()) {
    if (walk(lit->second.get(), segments, i + 1, params, visit)) return true;
  }
  for (const auto& p : node->params) {
    if (!matches_type(p.type, segment)) continue;
    params.emplace_back(p.name, std::string(segment));
    if (walk(p.node.get(), segments, i + 1, params, visit)) return true;
    params.pop_back();
  }
  return false;
}

}  // namespace

// The first node (in priority order) with a route for the method wins. Without one, `allowed` is the union
// of the methods of every node the path reaches: GET /x/{id:uuid} and POST /x/{slug} both answer for
// /x/<uuid>, so neither hides the other.
RouteMatch Router::match(Method method, std::string_view path) const {
  RouteMatch result;
  const auto segments = split_path(path);
  const auto route_for = [method](const Node& node) -> const Route* {
    auto it = node.methods.find(method == Method::head ? Method::get : method);
    if (method == Method::head && it == node.methods.end()) it = node.methods.find(Method::head);
    return it == node.methods.end() ? nullptr : it->second;
  };
  std::vector<std::pair<std::string, std::string>> params;
  walk(root_.get(), segments, 0, params, [&](const Node& node, const auto& found) {
    if (const Route* route = route_for(node)) {
      result.route = route;
      result.params = found;
      return true;
    }
    return false;
  });
  if (result.route) return result;
  walk(root_.get(), segments, 0, params, [&](const Node& node, const auto&) {
    for (const auto& entry : node.methods) {
      if (std::find(result.allowed.begin(), result.allowed.end(), entry.first) == result.allowed.end()) {
        result.allowed.push_back(entry.first);
      }
    }
    return false;
  });
  std::sort(result.allowed.begin(), result.allowed.end());
  return result;
}

}  // namespace bazaar::platform::http
