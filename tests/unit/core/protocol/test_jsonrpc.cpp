#include "core/protocol/framing.hpp"
#include "core/protocol/jsonrpc.hpp"
#include "core/protocol/raw_member.hpp"

#include <catch2/catch.hpp>

using namespace kb::protocol;
using kb::util::ErrorKind;

TEST_CASE("requests, notifications and responses parse", "[protocol]") {
  auto req =
      parse_message(R"({"jsonrpc":"2.0","id":7,"method":"artifacts.get","params":{"id":"A"}})");
  REQUIRE(req.ok());
  auto& r = std::get<Request>(*req);
  CHECK(r.id == 7);
  CHECK(r.method == "artifacts.get");
  CHECK(r.params["id"] == "A");

  auto note = parse_message(R"({"jsonrpc":"2.0","method":"ping"})");
  REQUIRE(note.ok());
  CHECK(std::holds_alternative<Notification>(*note));

  auto ok = parse_message(R"({"jsonrpc":"2.0","id":"x","result":{"a":1}})");
  REQUIRE(ok.ok());
  CHECK(std::get<Response>(*ok).result->at("a") == 1);
}

TEST_CASE("a jsonrpc member of the wrong type is refused, not thrown", "[protocol]") {
  for (auto text : {R"({"jsonrpc":{},"id":1,"method":"x"})", R"({"jsonrpc":2,"method":"x"})"}) {
    auto r = parse_message(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().details.value("code", 0) == k_invalid_request);
  }
}

TEST_CASE("malformed messages are refused with the right JSON-RPC code", "[protocol]") {
  auto code = [](std::string_view text) {
    auto r = parse_message(text);
    REQUIRE_FALSE(r.ok());
    return r.error().details["code"].get<int>();
  };
  CHECK(code("{not json") == k_parse_error);
  CHECK(code("[1,2]") == k_invalid_request);
  CHECK(code(R"({"id":1,"method":"x"})") == k_invalid_request);
  CHECK(code(R"({"jsonrpc":"2.0","id":{},"method":"x"})") == k_invalid_request);
  CHECK(code(R"({"jsonrpc":"2.0","id":1,"method":"x","params":3})") == k_invalid_request);
  CHECK(code(R"({"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}})") ==
        k_invalid_request);
}

TEST_CASE("errors round-trip through a response with their kind", "[protocol]") {
  auto response =
      error_response(3, kb::util::make_error(ErrorKind::not_found, "artifact A.9 not found",
                                             {{"hint", "run kodebase list"}}));
  auto text = serialize(response);
  CHECK(text.find('\n') == std::string::npos);
  auto parsed = parse_message(text);
  REQUIRE(parsed.ok());
  auto& back = std::get<Response>(*parsed);
  REQUIRE(back.error);
  CHECK(back.error->code == error_code(ErrorKind::not_found));
  auto error = to_error(*back.error);
  CHECK(error.kind == ErrorKind::not_found);
  CHECK(error.details["hint"] == "run kodebase list");
}

TEST_CASE("the framer splits lines and skips oversized frames", "[protocol][framing]") {
  LineFramer framer(10);
  std::string frame;
  framer.feed("abc\r\n0123456789ABCDEF\nxy");
  CHECK(framer.next(frame) == LineFramer::Status::frame);
  CHECK(frame == "abc");
  CHECK(framer.next(frame) == LineFramer::Status::oversized);
  CHECK(framer.next(frame) == LineFramer::Status::need_more);
  framer.feed("z\n");
  CHECK(framer.next(frame) == LineFramer::Status::frame);
  CHECK(frame == "xyz");
}

TEST_CASE("an oversized frame arriving in pieces is reported once", "[protocol][framing]") {
  LineFramer framer(8);
  std::string frame;
  framer.feed("0123456789");
  CHECK(framer.next(frame) == LineFramer::Status::oversized);
  framer.feed("0123456789");
  CHECK(framer.next(frame) == LineFramer::Status::need_more);
  framer.feed("end\nok\n");
  CHECK(framer.next(frame) == LineFramer::Status::frame);
  CHECK(frame == "ok");
}

TEST_CASE("find_member locates a nested value's text without parsing it", "[protocol]") {
  auto member = [](std::string_view text, std::initializer_list<std::string_view> path) {
    auto span = find_member(text, path);
    return span ? std::string(text.substr(span->offset, span->length)) : std::string("<none>");
  };
  std::string reply = R"({"jsonrpc":"2.0","id":1,"result":{"skip":{"artifacts":[1]},"s":"a\"}]b",)"
                      R"("artifacts":[{"id":"A","t":"x, \"y\" ]"},{"id":"B"}],"total":2}})";
  CHECK(member(reply, {"result", "artifacts"}) == R"([{"id":"A","t":"x, \"y\" ]"},{"id":"B"}])");
  CHECK(member(reply, {"result", "total"}) == "2");
  CHECK(member(reply, {"id"}) == "1");
  CHECK(member(reply, {"result", "skip", "artifacts"}) == "[1]");
  // What the whole-document parser would read from the same place.
  auto parsed = json::parse(reply);
  CHECK(json::parse(member(reply, {"result", "artifacts"})) == parsed["result"]["artifacts"]);

  CHECK(member(reply, {"result", "missing"}) == "<none>");
  CHECK(member(reply, {"error"}) == "<none>");
  CHECK(member(R"({"a" : { "b" :  [ 1 , 2 ] } })", {"a", "b"}) == "[ 1 , 2 ]");
  // Malformed or cut-off input gives up instead of reading past the end.
  CHECK(member(R"({"result":{"artifacts":[{"id":"A")", {"result", "artifacts"}) == "<none>");
  CHECK(member(R"({"result":{"artifacts":"abc)", {"result", "artifacts"}) == "<none>");
  CHECK(member(R"({"result":)", {"result"}) == "<none>");
  CHECK(member("", {"result"}) == "<none>");
  CHECK(member("[1,2]", {"result"}) == "<none>");
  // Keys written with escapes are not compared; the caller falls back to a full parse.
  CHECK(member(R"({"res\u0075lt":1})", {"result"}) == "<none>");
}

TEST_CASE("MemberSplitter streams a member out of a text that arrives in pieces", "[protocol]") {
  struct Split {
    std::string value, rest;
    bool found = false;
  };
  // Feeds `text` in pieces of `step` bytes.
  auto split = [](std::string_view text, size_t step,
                  std::vector<std::string> path = {"result", "artifacts"}) {
    Split out;
    MemberSplitter s(std::move(path), [&](std::string_view bytes) { out.value += bytes; });
    for (size_t at = 0; at < text.size(); at += step)
      s.feed(text.substr(at, step));
    out.rest = s.rest();
    out.found = s.found();
    return out;
  };
  std::string reply =
      R"({"jsonrpc":"2.0","id":1,"result":{"skip":{"artifacts":[1]},"s":"a\"}]b",)"
      R"("artifacts":[{"id":"A","t":"x, \"y\" ]\\"},{"id":"B","n":[[]]}],"total":2}})";
  auto whole = json::parse(reply);
  for (size_t step : {1, 2, 3, 7, 16, 64, 4096}) {
    INFO("pieces of " << step);
    auto s = split(reply, step);
    CHECK(s.found);
    CHECK(json::parse(s.value) == whole["result"]["artifacts"]);
    auto rest = json::parse(s.rest);
    CHECK(rest["result"]["artifacts"].is_null());
    CHECK(rest["result"]["total"] == 2);
    CHECK(rest["result"]["skip"] == whole["result"]["skip"]);
  }
  // An error reply, a scalar member or another shape: nothing streamed, the rest is the text.
  for (std::string_view text : {R"({"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"x"}})",
                                R"({"jsonrpc":"2.0","id":1,"result":{"artifacts":"none"}})",
                                R"({"jsonrpc":"2.0","id":1,"result":{"total":0}})", "[1,2]"}) {
    for (size_t step : {1, 5, 100}) {
      auto s = split(text, step);
      CHECK_FALSE(s.found);
      CHECK(s.value.empty());
      CHECK(s.rest == text);
    }
  }
  // A value not reached within the first 64 KiB is left in place.
  std::string late = R"({"result":{"pad":")" + std::string(70000, 'x') + R"(","artifacts":[1]}})";
  auto s = split(late, 1000);
  CHECK_FALSE(s.found);
  CHECK(s.rest == late);
}
