import { DraftChat } from '@/components/draft-chat';

/** `/`: a new chat, an empty composer (created on the server with its first message). */
export default async function HomePage({ searchParams }: { searchParams: Promise<{ new?: string }> }) {
  const { new: fresh } = await searchParams;
  return <DraftChat key={fresh ?? 'draft'} />;
}
