/**
 * Distribution in the client: "Take" from the team list into mine, and the operator's availability for round robin
 * (away: no new conversations are handed to them; back to available: they get their share of the waiting ones).
 */

import { toast } from './dom.js';

const LABELS = { available: 'Available', away: 'Away' };
const TITLES = {
  available: 'Round robin hands you new conversations. Click to go away.',
  away: 'Round robin hands you nothing while you are away. Click to be available.',
};

/** POST …/take: the row on success; a 409 says who was faster. */
export async function takeConversation(api, id, onRow) {
  try {
    const row = await api.take(id);
    onRow(row);
    toast('You took this conversation');
    return row;
  } catch (error) {
    if (error.status !== 401) toast(error.detail, 'error');
    return null;
  }
}

/** The top bar's available/away switch (#availability-toggle). */
export class AvailabilityToggle {
  constructor(api, button) {
    this.api = api;
    this.button = button;
    this.state = 'available';
    this.button.addEventListener('click', () => this.toggle());
  }

  show(state) {
    this.state = state === 'away' ? 'away' : 'available';
    this.button.textContent = LABELS[this.state];
    this.button.title = TITLES[this.state];
    this.button.dataset.availability = this.state;
    this.button.setAttribute('aria-pressed', String(this.state === 'away'));
  }

  async toggle() {
    const next = this.state === 'away' ? 'available' : 'away';
    this.button.disabled = true;
    try {
      const answer = await this.api.setAvailability(next);
      this.show(answer.availability);
      toast(this.state === 'away' ? 'You are away: no new conversations' : 'You are available again');
    } catch (error) {
      if (error.status !== 401) toast(error.detail, 'error');
    } finally {
      this.button.disabled = false;
    }
  }
}
