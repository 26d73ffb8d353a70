// JSON writer and member edits of the AssemblyScript SDK, reported as response headers.
import { Filter, registerFilter, Action, FilterInfo, ConfigResult, RequestInfo, RequestHead, Mutations, Json, JsonValue } from "SDK";

function show(s: string | null): string { return s === null ? "(null)" : s; }

class JsonKit extends Filter {
  configure(config: string): ConfigResult {
    return ConfigResult.ok(new FilterInfo("json-kit").withoutResponseHeaders());
  }
  onRequestHeaders(info: RequestInfo, head: RequestHead): Action {
    const tree = Json.parse("{\"model\":\"m\",\"n\":1,\"n\":2,\"keep\":[true,null,-3,0.5]}")!;
    tree.set("model", JsonValue.newString("x\"y"));
    tree.set("max_tokens", JsonValue.newNumber(16));
    const removed = tree.remove("n");
    const list = JsonValue.newArray();
    list.push(JsonValue.newBool(false));
    list.push(JsonValue.newNull());
    const obj = JsonValue.newObject();
    obj.set("list", list);
    const m = new Mutations()
      .setHeader("x-stringify", Json.stringify(tree))
      .setHeader("x-removed", removed === null ? "(null)" : Json.stringify(removed))
      .setHeader("x-built", Json.stringify(obj))
      .setHeader("x-set", show(Json.setMember("{\"model\":\"gpt-4\",\"max_tokens\":512}", "max_tokens", "1")))
      .setHeader("x-insert", show(Json.setMember("{ \"model\" : \"m\" }", "max_tokens", "1")))
      .setHeader("x-insert-empty", show(Json.setMember("{}", "k", "1")))
      .setHeader("x-remove", show(Json.removeMember("{\"a\":1, \"b\":[2], \"c\":{\"b\":3}}", "b")))
      .setHeader("x-remove-first", show(Json.removeMember("{ \"a\" : 1 , \"b\":2}", "a")))
      .setHeader("x-remove-dup", show(Json.removeMember("{\"a\":1,\"a\":2}", "a")))
      .setHeader("x-member-raw", show(Json.memberRaw("{\"m\":{\"a\":[1, 2]}}", "m")))
      .setHeader("x-minify", Json.minify("{ \"a b\" : [1, \"x\\\" y\"],\n \"c\": {} }"))
      .setHeader("x-not-object", show(Json.setMember("[1]", "k", "1")) + show(Json.removeMember("[1]", "k")));
    return Action.continueWith(m);
  }
}

registerFilter(() => new JsonKit() as Filter);
