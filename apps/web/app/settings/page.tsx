import type { Metadata } from 'next';
import { ApiTokens } from '@/components/api-tokens';

export const metadata: Metadata = { title: 'Settings · Chat' };

/** `/settings`: the account's API tokens. */
export default function SettingsPage() {
  return (
    <div className="settings">
      <h1 className="settings-title">Settings</h1>
      <ApiTokens />
    </div>
  );
}
