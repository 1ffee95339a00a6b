#include "core/artifact/layout.hpp"

#include "core/util/file.hpp"
#include "core/util/text.hpp"

#include <algorithm>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

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

constexpr int k_max_depth = 32;

// The walk of one artifacts folder: readdir on descriptors opened relative to their parent
// without following links (noticeably cheaper than std::filesystem on large trees, and no
// entry can lead the walk out of the tree).
class Walker {
public:
  explicit Walker(const std::filesystem::path& artifacts_dir) {
    std::error_code ec;
    m_inside = std::filesystem::canonical(artifacts_dir, ec).string() + "/";
    if (ec)
      m_inside.clear();
  }

  void walk(int parent, const char* name, const std::string& dir, int depth) {
    DIR* d = util::open_directory_at(parent, name);
    if (!d)
      return;
    int fd = ::dirfd(d);
    while (dirent* e = ::readdir(d))
      visit(fd, e->d_name, dir + "/" + e->d_name, e->d_type, depth);
    ::closedir(d);
  }

  // One entry of a folder (`type` as readdir gives it; DT_UNKNOWN: looked up).
  void visit(int dirfd, const char* name, std::string path, unsigned char type, int depth) {
    std::string_view entry = name;
    if (entry.empty() || entry == "." || entry == "..")
      return;
    if (entry[0] == '.') {
      if (is_temporary_name(entry) && type != DT_DIR)
        found.temporaries.emplace_back(path);
      return;
    }
    if (type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return;
      type = S_ISDIR(st.st_mode)   ? DT_DIR
             : S_ISREG(st.st_mode) ? DT_REG
             : S_ISLNK(st.st_mode) ? DT_LNK
                                   : DT_FIFO; // FIFOs, devices, sockets
    }
    auto id = id_from_filename(entry);
    bool utf8 = util::utf8_error_at(entry) == std::string_view::npos;
    if (type == DT_DIR) {
      if (!utf8)
        refuse(path, std::nullopt, "the folder's name is not valid UTF-8; nothing in it is read");
      else if (depth + 1 > k_max_depth)
        refuse(
            path, std::nullopt,
            fmt::format("folders are nested deeper than {}; nothing in it is read", k_max_depth));
      else
        walk(dirfd, name, path, depth + 1);
    } else if (type == DT_LNK) {
      link(dirfd, name, std::move(path), id);
    } else if (!utf8 && entry.ends_with(".yml")) {
      refuse(path, std::nullopt, "the file's name is not valid UTF-8");
    } else if (id && type == DT_REG) {
      found.files.push_back(DiscoveredFile{std::move(*id), std::move(path)});
    } else if (id) {
      refuse(path, id, "it is not a regular file (a FIFO, device or socket); it is not read");
    }
  }

  Discovery found;

private:
  void refuse(std::string path, std::optional<ArtifactId> id, std::string message) {
    found.refused.push_back(RefusedEntry{std::move(path), std::move(id), std::move(message)});
  }

  // A symbolic link: read when it is named like an artifact and resolves to a regular file
  // inside the artifacts folder; a link to a folder is never followed.
  void link(int dirfd, const char* name, std::string path, std::optional<ArtifactId> id) {
    struct stat st {};
    bool there = ::fstatat(dirfd, name, &st, 0) == 0;
    if (there && S_ISDIR(st.st_mode)) {
      refuse(std::move(path), std::nullopt,
             "the folder is a symbolic link, which is not followed; nothing in it is read");
      return;
    }
    if (!id)
      return;
    std::error_code ec;
    auto target = std::filesystem::canonical(path, ec).string();
    if (!there || ec)
      refuse(std::move(path), std::move(id), "it is a symbolic link that leads nowhere");
    else if (m_inside.empty() || !target.starts_with(m_inside))
      refuse(std::move(path), std::move(id),
             "it is a symbolic link to a file outside the artifacts folder, which is never read");
    else if (!S_ISREG(st.st_mode))
      refuse(std::move(path), std::move(id),
             "it is a symbolic link to something other than a regular file; it is not read");
    else
      found.files.push_back(DiscoveredFile{std::move(*id), std::move(path)});
  }

  std::string m_inside; // the artifacts folder's real path, with a trailing slash
};

} // namespace

namespace {

// `<ID>` or `<ID>.<slug>`: the ID a file name without `.yml`, or a folder name, stands for.
std::optional<ArtifactId> id_from_stem(std::string_view stem) {
  if (stem.empty() || stem[0] == '.')
    return std::nullopt;
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

} // namespace

std::optional<ArtifactId> id_from_filename(std::string_view name) {
  constexpr std::string_view ext = ".yml";
  if (name.size() <= ext.size() || !name.ends_with(ext))
    return std::nullopt;
  return id_from_stem(name.substr(0, name.size() - ext.size()));
}

std::optional<ArtifactId> foreign_folder(const std::filesystem::path& file, const ArtifactId& id) {
  const std::string& text = file.native();
  constexpr std::string_view root = "/.kodebase/artifacts/";
  auto at = text.rfind(root);
  if (at == std::string::npos)
    return std::nullopt;
  std::string_view rest = std::string_view(text).substr(at + root.size());
  for (auto slash = rest.find('/'); slash != std::string_view::npos; slash = rest.find('/')) {
    auto folder = id_from_stem(rest.substr(0, slash));
    if (folder && *folder != id && !id.is_descendant_of(*folder))
      return folder;
    rest.remove_prefix(slash + 1);
  }
  return std::nullopt;
}

Discovery discover_one(const std::filesystem::path& artifacts_dir,
                       const std::filesystem::path& file) {
  Walker walker(artifacts_dir);
  struct stat st {};
  int dir = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    return {};
  auto name = file.filename().string();
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
    walker.visit(dir, name.c_str(), file.string(), DT_UNKNOWN, 0);
  ::close(dir);
  return std::move(walker.found);
}

Discovery discover(const std::filesystem::path& artifacts_dir) {
  Walker walker(artifacts_dir);
  walker.walk(AT_FDCWD, artifacts_dir.c_str(), artifacts_dir.string(), 0);
  auto& found = walker.found;
  std::sort(found.files.begin(), found.files.end(),
            [](const DiscoveredFile& a, const DiscoveredFile& b) {
              return a.path.native() < b.path.native();
            });
  std::sort(found.refused.begin(), found.refused.end(),
            [](const RefusedEntry& a, const RefusedEntry& b) {
              return a.path.native() < b.path.native();
            });
  return std::move(found);
}

bool is_temporary_name(std::string_view name) {
  if (name.size() < 2 || name[0] != '.')
    return false;
  if (name.ends_with(".kb-tmp"))
    return true;
  auto at = name.rfind(".tmp-");
  return at != std::string_view::npos && at > 0 && name.size() - at == 11; // .tmp-XXXXXX
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
