#include "domain/image.hpp"

#include <platform/ids.hpp>

#include <cctype>

namespace bazaar::catalog::domain {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

std::optional<ImageType> image_type_from_content_type(std::string_view content_type) {
  const auto media = trim(content_type.substr(0, content_type.find(';')));
  if (iequals(media, "image/png")) return ImageType::png;
  if (iequals(media, "image/jpeg")) return ImageType::jpeg;
  if (iequals(media, "image/webp")) return ImageType::webp;
  return std::nullopt;
}

std::optional<ImageType> sniff_image_type(std::string_view bytes) {
  static constexpr std::string_view kPng("\x89PNG\r\n\x1a\n", 8);
  if (bytes.starts_with(kPng)) return ImageType::png;
  // JPEG: SOI marker followed by the first segment's marker.
  if (bytes.size() >= 3 && bytes.starts_with("\xFF\xD8\xFF")) return ImageType::jpeg;
  // WebP: a RIFF container whose form type is WEBP.
  if (bytes.size() >= 12 && bytes.starts_with("RIFF") && bytes.substr(8, 4) == "WEBP") return ImageType::webp;
  return std::nullopt;
}

std::string_view content_type(ImageType type) {
  switch (type) {
    case ImageType::png: return "image/png";
    case ImageType::jpeg: return "image/jpeg";
    case ImageType::webp: return "image/webp";
  }
  return "application/octet-stream";
}

std::string_view extension(ImageType type) {
  switch (type) {
    case ImageType::png: return "png";
    case ImageType::jpeg: return "jpg";
    case ImageType::webp: return "webp";
  }
  return "bin";
}

std::string new_media_key(ImageType type) { return platform::new_uuid_v7() + "." + std::string(extension(type)); }

std::optional<ImageType> media_key_type(std::string_view key) {
  // 8-4-4-4-12 lower-case hex digits, a dot, one of the three extensions: nothing else, so no '/', no '..'.
  if (key.size() < 38 || key[36] != '.') return std::nullopt;
  for (std::size_t i = 0; i < 36; ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? key[i] != '-' : !is_lower_hex(key[i])) return std::nullopt;
  }
  const auto ext = key.substr(37);
  if (ext == "png") return ImageType::png;
  if (ext == "jpg") return ImageType::jpeg;
  if (ext == "webp") return ImageType::webp;
  return std::nullopt;
}

bool is_valid_media_key(std::string_view key) { return media_key_type(key).has_value(); }

}  // namespace bazaar::catalog::domain
