#pragma once
// Image uploads: which types are accepted, recognised by their leading bytes rather than by what the
// client claims, and the strict shape of media keys (so that a key can never name a path outside storage).
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::catalog::domain {

enum class ImageType { png, jpeg, webp };

// image/png, image/jpeg, image/webp (case-insensitive, parameters ignored); nullopt for anything else.
std::optional<ImageType> image_type_from_content_type(std::string_view content_type);
// The type the bytes actually are, by their magic numbers; nullopt when none of the accepted ones.
std::optional<ImageType> sniff_image_type(std::string_view bytes);

std::string_view content_type(ImageType type);  // "image/png"
std::string_view extension(ImageType type);     // "png", "jpg", "webp"

// "<uuid>.<ext>": what new_media_key() makes, and the only shape GET /media/{key} accepts.
std::string new_media_key(ImageType type);
bool is_valid_media_key(std::string_view key);
std::optional<ImageType> media_key_type(std::string_view key);

}  // namespace bazaar::catalog::domain
