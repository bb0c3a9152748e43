"""GraphiQL served entirely from this server: our page plus the vendored GraphiQL assets.

Strawberry's own page loads React and GraphiQL from a public CDN, which fails wherever the
network is closed (and leaks every developer's page view to a third party). The same files, at
the same versions, live in `gateway/static/graphiql/` (versions and licences in its
LICENSES.md) and are served under `/graphql/assets/`. Both the page and the assets exist only
while introspection is on (`CLONE_GRAPHQL_INTROSPECTION`).

The page keeps strawberry's conveniences: the query and variables follow the URL (`?q=`,
`?variables=`), and the headers pane (where `X-Clone-API-Key` or `Authorization` goes) is kept
in the browser's localStorage. Subscriptions use `graphql-transport-ws` on the same path, with
the headers pane sent as the `connection_init` payload, which is where the gateway reads
WebSocket credentials.
"""

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from gateway.settings import Settings

ASSETS_DIR = Path(__file__).parent / "static" / "graphiql"
ASSETS_PATH = "/graphql/assets"
GRAPHIQL_VERSION = "3.8.3"
REACT_VERSION = "18.2.0"

# Asset URLs are relative to the page (`/graphql`), so a gateway mounted under a prefix works.
GRAPHIQL_HTML = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <link rel="icon" href="data:," />
    <title>Clone GraphQL</title>
    <style>
      body { height: 100%; margin: 0; width: 100%; overflow: hidden; }
      #graphiql { height: 100vh; display: flex; }
    </style>
    <link rel="stylesheet" href="graphql/assets/graphiql.min.css" />
    <script src="graphql/assets/react.production.min.js"></script>
    <script src="graphql/assets/react-dom.production.min.js"></script>
  </head>
  <body>
    <div id="graphiql" class="graphiql-container">Loading GraphiQL…</div>
    <script src="graphql/assets/graphiql.min.js"></script>
    <script>
      const EXAMPLE_QUERY = `# Clone's GraphQL API. Put your credential in the Headers pane
# below, e.g. {"X-Clone-API-Key": "clone_..."}
# then run (Ctrl-Enter):
{
  me {
    email
    displayName
  }
}
`;
      const parameters = new URLSearchParams(window.location.search);

      function updateURL(name, value) {
        if (value) {
          parameters.set(name, value);
        } else {
          parameters.delete(name);
        }
        const search = parameters.toString();
        history.replaceState(null, "", search ? "?" + search : window.location.pathname);
      }

      const fetchURL = window.location.href.split("?")[0].split("#")[0];
      const subscriptionURL = new URL(fetchURL);
      subscriptionURL.protocol = subscriptionURL.protocol === "https:" ? "wss:" : "ws:";

      const fetcher = GraphiQL.createFetcher({
        url: fetchURL,
        subscriptionUrl: subscriptionURL.toString(),
      });

      function CloneGraphiQL() {
        const [query, setQuery] = React.useState(parameters.get("q") || EXAMPLE_QUERY);
        const [variables, setVariables] = React.useState(parameters.get("variables") || undefined);
        return React.createElement(GraphiQL, {
          fetcher: fetcher,
          defaultEditorToolsVisibility: true,
          query: query,
          variables: variables,
          onEditQuery: function (value) { setQuery(value); updateURL("q", value); },
          onEditVariables: function (value) { setVariables(value); updateURL("variables", value); },
          inputValueDeprecation: true,
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: true,
        });
      }

      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(CloneGraphiQL),
      );
    </script>
  </body>
</html>
"""


def graphiql_routes(settings: Settings) -> list[BaseRoute]:
    """The static assets' route, present only while GraphiQL is on."""
    if not settings.graphql_introspection:
        return []
    return [Mount(ASSETS_PATH, app=StaticFiles(directory=ASSETS_DIR), name="graphiql-assets")]
