import Link from 'next/link';

export default function NotFound() {
  return (
    <div className="empty-state">
      <h1>Not found</h1>
      <p>
        <Link href="/">Back to your chats</Link>
      </p>
    </div>
  );
}
