#include "media_storage.hpp"

#include "domain/image.hpp"

#include <platform/ids.hpp>

#include <fstream>
#include <stdexcept>
#include <system_error>

namespace bazaar::catalog {

namespace fs = std::filesystem;

LocalMediaStorage::LocalMediaStorage(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("media.dir '" + dir_.string() + "' cannot be created: " + ec.message());
}

fs::path LocalMediaStorage::path_of(const std::string& key) const {
  // Defence in depth: the routes validate keys already, and a valid key is a plain file name.
  if (!domain::is_valid_media_key(key)) throw std::invalid_argument("invalid media key");
  return dir_ / key;
}

void LocalMediaStorage::put(const std::string& key, std::string_view bytes) {
  const auto target = path_of(key);
  const auto temp = dir_ / (".upload-" + platform::new_uuid_v7());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw std::runtime_error("media: cannot write " + temp.string());
    }
  }
  std::error_code ec;
  fs::rename(temp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw std::runtime_error("media: cannot store " + key + ": " + ec.message());
  }
}

std::optional<std::string> LocalMediaStorage::get(const std::string& key) {
  const auto path = path_of(key);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return std::nullopt;
    throw std::runtime_error("media: cannot read " + key + ": " + ec.message());
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  if (!in || !in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    throw std::runtime_error("media: cannot read " + key);
  }
  return bytes;
}

void LocalMediaStorage::remove(const std::string& key) {
  std::error_code ec;
  fs::remove(path_of(key), ec);
  if (ec) throw std::runtime_error("media: cannot remove " + key + ": " + ec.message());
}

}  // namespace bazaar::catalog
