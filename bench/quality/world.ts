/**
 * Small lists of names and mail domains per country. Real-looking values matter:
 * a resolver tuned on "user123@example.com" learns nothing about typos in "Schäfer"
 * or about two Martins in the same family.
 */
export type Country = 'FR' | 'US' | 'GB' | 'DE';

export const COUNTRY_WEIGHTS: ReadonlyArray<readonly [Country, number]> = [
  ['FR', 35],
  ['US', 30],
  ['GB', 20],
  ['DE', 15],
];

export const FIRST_NAMES: Record<Country, readonly string[]> = {
  FR: [
    'Jean', 'Marie', 'Pierre', 'Camille', 'Louis', 'Chloé', 'Nicolas', 'Julie', 'Thomas', 'Léa',
    'Antoine', 'Manon', 'Julien', 'Sophie', 'Hugo', 'Élodie', 'Mathieu', 'Claire', 'François', 'Inès',
  ],
  US: [
    'John', 'Mary', 'James', 'Jennifer', 'Michael', 'Linda', 'Robert', 'Emily', 'David', 'Sarah',
    'William', 'Jessica', 'Daniel', 'Ashley', 'Matthew', 'Megan', 'Christopher', 'Lauren', 'Andrew', 'Olivia',
  ],
  GB: [
    'Oliver', 'Amelia', 'Harry', 'Isla', 'George', 'Ava', 'Jack', 'Emily', 'Charlie', 'Sophie',
    'Thomas', 'Grace', 'Alfie', 'Poppy', 'Oscar', 'Freya', 'Henry', 'Lily', 'Archie', 'Evie',
  ],
  DE: [
    'Lukas', 'Anna', 'Leon', 'Lea', 'Finn', 'Hannah', 'Jonas', 'Lena', 'Paul', 'Sophie',
    'Felix', 'Marie', 'Maximilian', 'Laura', 'Elias', 'Julia', 'Jürgen', 'Katharina', 'Tobias', 'Sabine',
  ],
};

export const LAST_NAMES: Record<Country, readonly string[]> = {
  FR: [
    'Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau',
    'Simon', 'Laurent', 'Lefèvre', 'Michel', 'Garcia', 'David', 'Bertrand', 'Roux', 'Vincent', 'Fournier',
  ],
  US: [
    'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor',
    'Moore', 'Jackson', 'White', 'Harris', 'Clark', 'Lewis', 'Robinson', 'Walker', "O'Connor", 'Young',
  ],
  GB: [
    'Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Patel', 'Wright',
    'Evans', 'Thomas', 'Roberts', 'Walker', 'Hughes', 'Green', 'Lewis', 'Edwards', 'Hall', 'Wood',
  ],
  DE: [
    'Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schulz', 'Hoffmann',
    'Schäfer', 'Koch', 'Bauer', 'Richter', 'Klein', 'Wolf', 'Schröder', 'Neumann', 'Schwarz', 'Zimmermann',
  ],
};

export const PERSONAL_DOMAINS: Record<Country, readonly string[]> = {
  FR: ['gmail.com', 'orange.fr', 'free.fr', 'laposte.net', 'hotmail.fr', 'sfr.fr'],
  US: ['gmail.com', 'yahoo.com', 'outlook.com', 'icloud.com', 'aol.com', 'comcast.net'],
  GB: ['gmail.com', 'btinternet.com', 'hotmail.co.uk', 'yahoo.co.uk', 'outlook.com', 'sky.com'],
  DE: ['gmail.com', 'web.de', 'gmx.de', 't-online.de', 'gmx.net', 'outlook.de'],
};

/** Employers: work addresses, and the shared mailboxes some of their staff write from. */
export const COMPANY_DOMAINS: readonly string[] = [
  'acme-industries.com', 'brightlane.io', 'northwind-trading.com', 'kestrel-labs.com', 'bluepeak.co.uk',
  'atelier-verne.fr', 'hofmann-logistik.de', 'lumen-health.com', 'copperleaf.io', 'maison-rivage.fr',
];

/** Letters with accents are folded in addresses: "Chloé" writes chloe@... */
export function asciiFold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ß/g, 'ss')
    .replace(/[^A-Za-z0-9]/g, '');
}
