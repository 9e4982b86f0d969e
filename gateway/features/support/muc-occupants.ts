// Occupant nicks of a reference chat room (docs/rooms.md): the room names members `alias[pid]`; a MUC shows the
// alias alone while no other member present holds it, and the whole NAME for a second one. Pure.

export class Occupants {
  /** NAME → nick, for the members seen (joins, or a line) and not seen leaving. */
  private readonly byName = new Map<string, string>();
  private readonly taken = new Map<string, string>();
  private selfName: string | undefined;

  /** Our NAME (a new one on every link); we get our alias, clean, first. Returns our nick. */
  setSelf(name: string, alias: string): string {
    if (this.selfName) this.remove(this.selfName);
    this.selfName = name;
    return this.add(name, alias).nick;
  }

  get self(): string | undefined {
    return this.selfName && this.byName.get(this.selfName);
  }

  isSelf(name: string): boolean {
    return name === this.selfName;
  }

  /** The nick of a member, and whether it is new to us (then its presence goes out first). */
  add(name: string, alias: string): { nick: string; added: boolean } {
    const known = this.byName.get(name);
    if (known !== undefined) return { nick: known, added: false };
    const nick = this.taken.has(alias) ? name : alias;
    this.byName.set(name, nick);
    this.taken.set(nick, name);
    return { nick, added: true };
  }

  /** The nick of a member we know, without adding it (a room's history names members long gone). */
  nickOf(name: string): string | undefined {
    return this.byName.get(name);
  }

  /** A member left: its nick, if we knew it. */
  remove(name: string): string | undefined {
    const nick = this.byName.get(name);
    if (nick === undefined) return undefined;
    this.byName.delete(name);
    this.taken.delete(nick);
    if (name === this.selfName) this.selfName = undefined;
    return nick;
  }

  /** Everyone but us, as nicks. */
  others(): string[] {
    return [...this.byName.entries()].filter(([n]) => n !== this.selfName).map(([, nick]) => nick);
  }

  /** The link dropped: nobody is known any more (ourselves included). */
  clear(): void {
    this.byName.clear();
    this.taken.clear();
    this.selfName = undefined;
  }
}
