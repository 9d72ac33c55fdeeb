-- Searching the chats of a user by title and by the text of their messages (context.list with a query):
-- substring matches (ILIKE with a pattern) served by trigram indexes.
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The text parts of the `parts` of a message (a JSON array), joined: what a search over message text sees.
CREATE OR REPLACE FUNCTION chat_message_text(parts jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(string_agg(p->>'text', ' '), '')
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(parts) = 'array' THEN parts ELSE '[]'::jsonb END) AS p
  WHERE p->>'type' = 'text'
$$;

CREATE INDEX "Context_title_trgm_idx" ON "Context" USING gin ("title" gin_trgm_ops);
CREATE INDEX "Message_text_trgm_idx" ON "Message" USING gin (chat_message_text("parts") gin_trgm_ops);
