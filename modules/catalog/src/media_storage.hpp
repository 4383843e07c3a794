#pragma once
// Where uploaded images live. Blocking calls: run them on a worker pool, never on an I/O thread. Keys are
// validated by the caller (domain::is_valid_media_key) and never contain a path separator. A local
// directory is the default; an S3-compatible store can implement the same three calls.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::catalog {

class MediaStorage {
 public:
  virtual ~MediaStorage() = default;
  // Stores `bytes` under `key`, atomically: a reader sees the whole object or none. Throws on I/O errors.
  virtual void put(const std::string& key, std::string_view bytes) = 0;
  // The bytes under `key`, or nullopt when there are none. Throws on I/O errors.
  virtual std::optional<std::string> get(const std::string& key) = 0;
  // Removes `key`; absent keys are fine.
  virtual void remove(const std::string& key) = 0;
};

// Files in one directory (media.dir), created if missing. Writes go to a temporary file that is renamed
// into place, so a crash never leaves a half-written image under a live key.
class LocalMediaStorage final : public MediaStorage {
 public:
  explicit LocalMediaStorage(std::filesystem::path dir);
  void put(const std::string& key, std::string_view bytes) override;
  std::optional<std::string> get(const std::string& key) override;
  void remove(const std::string& key) override;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path path_of(const std::string& key) const;
  std::filesystem::path dir_;
};

}  // namespace bazaar::catalog
