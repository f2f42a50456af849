import { Link, useInRouterContext, useSearchParams } from "react-router-dom";
import type { Source } from "../api";

function MapLink({ tables }: { tables: string[] }) {
  const [params] = useSearchParams();
  const connection = params.get("connection");
  if (!connection) return null;
  return (
    <p>
      <Link
        className="text-blue-700 underline"
        to={`/connections/${connection}/map?${new URLSearchParams({ highlight: tables.join(",") })}`}
      >
        Show on schema map
      </Link>
    </p>
  );
}

/** "Show on schema map" for the tables a query used, for the connection named in the page's URL. */
export default function SchemaMapLink({ sources }: { sources: Source[] }) {
  const inRouter = useInRouterContext();
  const tables = sources.filter((s) => s.used).map((s) => s.object);
  if (!inRouter || tables.length === 0) return null;
  return <MapLink tables={tables} />;
}
