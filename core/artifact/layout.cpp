#include "core/artifact/layout.hpp"

#include <algorithm>
#include <dirent.h>

namespace kb::artifact {

namespace {

bool is_slug_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-';
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool valid_slug(std::string_view s) {
  return !s.empty() && is_alnum(s[0]) && std::all_of(s.begin(), s.end(), is_slug_char);
}

// Recursive walk with readdir: noticeably cheaper than std::filesystem on large trees.
void walk(const std::string& dir, std::vector<DiscoveredFile>& out, int depth) {
  if (depth > 32)
    return;
  DIR* d = ::opendir(dir.c_str());
  if (!d)
    return;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.empty() || name[0] == '.')
      continue;
    std::string path = dir + "/" + std::string(name);
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN || type == DT_LNK) {
      std::error_code ec;
      auto st = std::filesystem::status(path, ec);
      type = std::filesystem::is_directory(st) ? DT_DIR : DT_REG;
    }
    if (type == DT_DIR) {
      walk(path, out, depth + 1);
    } else if (type == DT_REG) {
      if (auto id = id_from_filename(name))
        out.push_back(DiscoveredFile{std::move(*id), std::move(path)});
    }
  }
  ::closedir(d);
}

} // namespace

std::optional<ArtifactId> id_from_filename(std::string_view name) {
  constexpr std::string_view ext = ".yml";
  if (name.size() <= ext.size() || !name.ends_with(ext) || name[0] == '.')
    return std::nullopt;
  std::string_view stem = name.substr(0, name.size() - ext.size());
  // Try the longest ID prefix first: `A.1.2.api` → A.1.2 with slug `api`.
  std::vector<size_t> cuts;
  for (size_t i = 0; i <= stem.size(); ++i)
    if (i == stem.size() || stem[i] == '.')
      cuts.push_back(i);
  for (auto it = cuts.rbegin(); it != cuts.rend(); ++it) {
    auto id = ArtifactId::parse(stem.substr(0, *it));
    if (!id)
      continue;
    if (*it == stem.size() || valid_slug(stem.substr(*it + 1)))
      return id;
  }
  return std::nullopt;
}

std::vector<DiscoveredFile> discover(const std::filesystem::path& artifacts_dir) {
  std::vector<DiscoveredFile> out;
  walk(artifacts_dir.string(), out, 0);
  std::sort(out.begin(), out.end(), [](const DiscoveredFile& a, const DiscoveredFile& b) {
    return a.path.native() < b.path.native();
  });
  return out;
}

std::string slugify(std::string_view title) {
  std::string out;
  bool dash = false;
  for (char c : title) {
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if ((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9')) {
      if (dash && !out.empty())
        out += '-';
      out += lower;
      dash = false;
    } else {
      dash = true;
    }
  }
  constexpr size_t k_max = 60;
  if (out.size() > k_max) {
    auto cut = out.rfind('-', k_max);
    out.resize(cut != std::string::npos && cut > k_max / 2 ? cut : k_max);
  }
  return out;
}

std::filesystem::path path_for_new(const std::filesystem::path& artifacts_dir, const ArtifactId& id,
                                   std::string_view slug,
                                   const std::optional<std::filesystem::path>& parent_file) {
  std::string stem = slug.empty() ? id.str() : id.str() + "." + std::string(slug);
  if (id.type() == ArtifactType::issue)
    return parent_file->parent_path() / (stem + ".yml");
  auto base = id.type() == ArtifactType::initiative ? artifacts_dir : parent_file->parent_path();
  return base / stem / (id.str() + ".yml");
}

} // namespace kb::artifact
