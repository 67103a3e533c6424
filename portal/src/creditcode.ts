// Unified social credit code (统一社会信用代码, GB 32100-2015): the same check as app/organizations/credit_code.py.
const ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const SHAPE = new RegExp(`^[${ALPHABET}]{2}\\d{6}[${ALPHABET}]{10}$`);

export type CreditCodeCheck = "valid" | "malformed" | "bad_check_character";

export function checkCharacter(first17: string): string {
  let total = 0;
  for (let i = 0; i < 17; i++) total += ALPHABET.indexOf(first17.charAt(i)) * (WEIGHTS[i] ?? 0);
  return ALPHABET.charAt((31 - (total % 31)) % 31);
}

export function checkCreditCode(code: string): CreditCodeCheck {
  if (!SHAPE.test(code)) return "malformed";
  return checkCharacter(code.slice(0, 17)) === code.charAt(17) ? "valid" : "bad_check_character";
}
