// The fixture tools, resources and prompts the MCP conformance suite's server scenarios call
// (`kodebase mcp --conformance-fixtures`, hidden): they exercise protocol features kodebase's
// own catalogue has no use for (images, audio, sampling, elicitation).
#include "cli/mcp/server.hpp"

#include <fmt/format.h>
#include <thread>

namespace kb::cli::mcp {

namespace {

using namespace std::chrono_literals;

// A 1×1 red PNG and a 1-sample silent WAV.
constexpr std::string_view k_png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8D"
                                   "wHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
constexpr std::string_view k_wav =
    "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQIAAAAAAA==";

const json k_empty_input = {{"type", "object"}, {"additionalProperties", false}};

Tool fixture(std::string name, std::string description,
             std::function<ToolResult(Server&, Call&, const json&)> run,
             json input = k_empty_input) {
  Tool t;
  t.name = std::move(name);
  t.title = t.name;
  t.description = std::move(description);
  t.input_schema = std::move(input);
  t.run = std::move(run);
  return t;
}

ToolResult blocks(json content) {
  ToolResult r;
  r.content = std::move(content);
  return r;
}

ToolResult text(std::string t) {
  ToolResult r;
  r.text = std::move(t);
  return r;
}

json image() {
  return {{"type", "image"}, {"data", k_png}, {"mimeType", "image/png"}};
}

ToolResult elicit(Server& s, const std::string& message, json schema, std::string_view prefix) {
  if (!s.client_can("elicitation"))
    return tool_error("the client does not offer elicitation");
  auto r = s.ask_client("elicitation/create",
                        {{"message", message}, {"requestedSchema", std::move(schema)}}, 30s);
  if (!r)
    return tool_error(r.error().message);
  return text(fmt::format("{}action={}, content={}", prefix, r->value("action", ""),
                          r->value("content", json::object()).dump()));
}

json message_with(json content) {
  return json{{"role", "user"}, {"content", std::move(content)}};
}

json prompt_result(json messages) {
  return json{{"messages", std::move(messages)}};
}

} // namespace

void add_conformance_fixtures(Catalogue& c) {
  c.tools.push_back(
      fixture("test_simple_text", "Returns a fixed text", [](Server&, Call&, const json&) {
        return text("This is a simple text response for testing.");
      }));
  c.tools.push_back(
      fixture("test_image_content", "Returns an image",
              [](Server&, Call&, const json&) { return blocks(json::array({image()})); }));
  c.tools.push_back(fixture("test_audio_content", "Returns audio", [](Server&, Call&, const json&) {
    return blocks(json::array({{{"type", "audio"}, {"data", k_wav}, {"mimeType", "audio/wav"}}}));
  }));
  c.tools.push_back(
      fixture("test_embedded_resource", "Returns a resource", [](Server&, Call&, const json&) {
        return blocks(json::array({{{"type", "resource"},
                                    {"resource",
                                     {{"uri", "test://embedded-resource"},
                                      {"mimeType", "text/plain"},
                                      {"text", "This is an embedded resource content."}}}}}));
      }));
  c.tools.push_back(fixture("test_multiple_content_types", "Returns text, an image and a resource",
                            [](Server&, Call&, const json&) {
                              ToolResult r = text("Multiple content types test:");
                              r.content =
                                  json::array({image(),
                                               {{"type", "resource"},
                                                {"resource",
                                                 {{"uri", "test://mixed-content-resource"},
                                                  {"mimeType", "application/json"},
                                                  {"text", R"({"test":"data","value":123})"}}}}});
                              return r;
                            }));
  c.tools.push_back(
      fixture("test_tool_with_logging", "Logs three messages", [](Server& s, Call&, const json&) {
        for (auto m :
             {"Tool execution started", "Tool processing data", "Tool execution completed"}) {
          s.log(LogLevel::info, m);
          std::this_thread::sleep_for(50ms);
        }
        return text("Tool with logging executed successfully");
      }));
  c.tools.push_back(fixture("test_error_handling", "Always fails", [](Server&, Call&, const json&) {
    return tool_error("This tool intentionally returns an error for testing");
  }));
  c.tools.push_back(fixture("test_tool_with_progress", "Reports progress",
                            [](Server& s, Call& call, const json&) {
                              for (double p : {0.0, 50.0, 100.0}) {
                                s.progress(call, p, 100, fmt::format("{}%", p));
                                std::this_thread::sleep_for(50ms);
                              }
                              return text("Progress test completed");
                            }));
  c.tools.push_back(fixture(
      "test_sampling", "Asks the client's model",
      [](Server& s, Call&, const json& args) {
        if (!s.client_can("sampling"))
          return tool_error("the client does not offer sampling");
        auto r =
            s.ask_client("sampling/createMessage",
                         {{"messages",
                           {{{"role", "user"},
                             {"content", {{"type", "text"}, {"text", args.value("prompt", "")}}}}}},
                          {"maxTokens", 100}},
                         30s);
        if (!r)
          return tool_error(r.error().message);
        return text("LLM response: " +
                    r->value("content", json::object()).value("text", std::string()));
      },
      {{"type", "object"},
       {"properties", {{"prompt", {{"type", "string"}}}}},
       {"required", {"prompt"}}}));
  c.tools.push_back(fixture(
      "test_elicitation", "Asks the user",
      [](Server& s, Call&, const json& args) {
        return elicit(s, args.value("message", ""),
                      {{"type", "object"},
                       {"properties",
                        {{"username", {{"type", "string"}, {"description", "User's response"}}},
                         {"email", {{"type", "string"}, {"description", "User's email address"}}}}},
                       {"required", {"username", "email"}}},
                      "User response: ");
      },
      {{"type", "object"},
       {"properties", {{"message", {{"type", "string"}}}}},
       {"required", {"message"}}}));
  c.tools.push_back(fixture("test_elicitation_sep1034_defaults", "Elicitation with defaults",
                            [](Server& s, Call&, const json&) {
                              return elicit(
                                  s, "Please review and update the form fields with defaults",
                                  {{"type", "object"},
                                   {"properties",
                                    {{"name", {{"type", "string"}, {"default", "John Doe"}}},
                                     {"age", {{"type", "integer"}, {"default", 30}}},
                                     {"score", {{"type", "number"}, {"default", 95.5}}},
                                     {"status",
                                      {{"type", "string"},
                                       {"enum", {"active", "inactive", "pending"}},
                                       {"default", "active"}}},
                                     {"verified", {{"type", "boolean"}, {"default", true}}}}}},
                                  "Elicitation completed: ");
                            }));
  c.tools.push_back(fixture(
      "test_elicitation_sep1330_enums", "Elicitation with every enum form",
      [](Server& s, Call&, const json&) {
        auto titled = [](const char* key,
                         std::initializer_list<std::pair<const char*, const char*>> v) {
          json out = json::array();
          for (auto [value, title] : v)
            out.push_back({{"const", value}, {"title", title}});
          return json{{key, out}};
        };
        json titled_single = {{"type", "string"}};
        titled_single.update(titled(
            "oneOf",
            {{"value1", "First Option"}, {"value2", "Second Option"}, {"value3", "Third Option"}}));
        json schema{
            {"type", "object"},
            {"properties",
             {{"untitledSingle", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}},
              {"titledSingle", titled_single},
              {"legacyEnum",
               {{"type", "string"},
                {"enum", {"opt1", "opt2", "opt3"}},
                {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
              {"untitledMulti",
               {{"type", "array"},
                {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
              {"titledMulti",
               {{"type", "array"},
                {"items", titled("anyOf", {{"value1", "First Choice"},
                                           {"value2", "Second Choice"},
                                           {"value3", "Third Choice"}})}}}}}};
        return elicit(s, "Please select options from the enum fields", std::move(schema),
                      "Elicitation completed: ");
      }));
  c.tools.push_back(fixture(
      "json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features",
      [](Server&, Call&, const json& args) { return text("received " + args.dump()); },
      {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
       {"type", "object"},
       {"$defs",
        {{"address",
          {{"type", "object"},
           {"properties", {{"street", {{"type", "string"}}}, {"city", {{"type", "string"}}}}}}}}},
       {"properties", {{"name", {{"type", "string"}}}, {"address", {{"$ref", "#/$defs/address"}}}}},
       {"additionalProperties", false}}));

  c.resources.push_back(
      {"test://static-text", "static-text", "Static text", "A text fixture", "text/plain"});
  c.resources.push_back(
      {"test://static-binary", "static-binary", "Static binary", "A binary fixture", "image/png"});
  c.resources.push_back({"test://watched-resource", "watched-resource", "Watched resource",
                         "A resource to subscribe to", "text/plain"});
  c.templates.push_back({{"uriTemplate", "test://template/{id}/data"},
                         {"name", "template"},
                         {"title", "Template fixture"},
                         {"description", "A templated fixture"},
                         {"mimeType", "application/json"}});
  c.readers.push_back([](Server&, const std::string& uri) -> std::optional<json> {
    auto one = [&](json content) {
      content["uri"] = uri;
      return json{{"contents", json::array({std::move(content)})}};
    };
    if (uri == "test://static-text" || uri == "test://watched-resource")
      return one({{"mimeType", "text/plain"},
                  {"text", "This is the content of the static text resource."}});
    if (uri == "test://static-binary")
      return one({{"mimeType", "image/png"}, {"blob", k_png}});
    constexpr std::string_view prefix = "test://template/";
    if (uri.starts_with(prefix) && uri.ends_with("/data")) {
      auto id = uri.substr(prefix.size(), uri.size() - prefix.size() - 5);
      return one(
          {{"mimeType", "application/json"},
           {"text",
            json{{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}}.dump()}});
    }
    return std::nullopt;
  });

  c.prompts.push_back(
      {"test_simple_prompt", "Simple prompt", "A prompt without arguments", json::array(),
       [](Server&, const json&) {
         return prompt_result(json::array(
             {message_with({{"type", "text"}, {"text", "This is a simple prompt for testing."}})}));
       }});
  c.prompts.push_back(
      {"test_prompt_with_arguments", "Prompt with arguments", "A prompt with two arguments",
       json::array(
           {{{"name", "arg1"}, {"description", "First test argument"}, {"required", true}},
            {{"name", "arg2"}, {"description", "Second test argument"}, {"required", true}}}),
       [](Server&, const json& args) {
         return prompt_result(json::array({message_with(
             {{"type", "text"},
              {"text", fmt::format("Prompt with arguments: arg1='{}', arg2='{}'",
                                   args.value("arg1", ""), args.value("arg2", ""))}})}));
       }});
  c.prompts.push_back(
      {"test_prompt_with_embedded_resource", "Prompt with a resource", "Embeds a resource",
       json::array(
           {{{"name", "resourceUri"}, {"description", "URI of the resource"}, {"required", true}}}),
       [](Server&, const json& args) {
         return prompt_result(json::array(
             {message_with({{"type", "resource"},
                            {"resource",
                             {{"uri", args.value("resourceUri", "")},
                              {"mimeType", "text/plain"},
                              {"text", "Embedded resource content for testing."}}}}),
              message_with(
                  {{"type", "text"}, {"text", "Please process the embedded resource above."}})}));
       }});
  c.prompts.push_back(
      {"test_prompt_with_image", "Prompt with an image", "Shows an image", json::array(),
       [](Server&, const json&) {
         return prompt_result(json::array(
             {message_with(image()),
              message_with({{"type", "text"}, {"text", "Please analyze the image above."}})}));
       }});
  c.completers.push_back([](Server&, const json& ref, const std::string& argument,
                            const std::string& value) -> std::optional<std::vector<std::string>> {
    if (ref.value("name", "") != "test_prompt_with_arguments")
      return std::nullopt;
    std::vector<std::string> out;
    for (auto v : {"paris", "park", "party"})
      if (std::string_view(v).starts_with(value) || argument.empty())
        out.emplace_back(v);
    return out;
  });
}

} // namespace kb::cli::mcp
